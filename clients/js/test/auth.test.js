import assert from "node:assert/strict";
import { test } from "node:test";

import { Benben, ProblemError } from "../benben.js";
import { BASE_URL, PASSWORD, USERNAME, countingFetch, loggedIn, spoiled } from "./helpers.js";

test("login keeps the tokens and me() answers who is logged in", async () => {
  const told = [];
  const bb = await loggedIn({ onTokens: (pair) => told.push(pair) });
  assert.match(bb.accessToken, /^ey/);
  assert.match(bb.refreshToken, /^bbr_/);
  const me = await bb.me();
  assert.equal(me.user.username, USERNAME);
  assert.equal(me.credential, "jwt");
  assert.equal(told.length, 1);
});

test("a wrong password is a ProblemError 401", async () => {
  const bb = new Benben({ baseUrl: BASE_URL });
  await assert.rejects(bb.login(USERNAME, `${PASSWORD}!`), (err) => {
    assert.ok(err instanceof ProblemError);
    assert.equal(err.status, 401);
    assert.equal(err.problem.status, 401);
    return true;
  });
});

test("a refused access token is refreshed once and the request retried", async () => {
  const counter = countingFetch();
  const bb = await loggedIn({ fetch: counter.fetch });
  const firstRefresh = bb.refreshToken;
  bb.accessToken = spoiled(bb.accessToken);
  const me = await bb.me();
  assert.equal(me.user.username, USERNAME);
  assert.equal(counter.count("/api/v1/auth/refresh"), 1);
  assert.notEqual(bb.refreshToken, firstRefresh); // rotated
  assert.equal(counter.count("/api/v1/auth/me"), 2);
});

test("concurrent requests share a single refresh", async () => {
  const counter = countingFetch();
  const bb = await loggedIn({ fetch: counter.fetch });
  bb.accessToken = spoiled(bb.accessToken);
  const [me, collections, tokens] = await Promise.all([bb.me(), bb.collections.list(), bb.tokens.list()]);
  assert.equal(me.user.username, USERNAME);
  assert.ok(Array.isArray(collections.data));
  assert.ok(Array.isArray(tokens.data));
  // Three refreshes with one refresh token would be a re-use: the server would end the session.
  assert.equal(counter.count("/api/v1/auth/refresh"), 1);
});

test("the refresh callback replaces the refresh-token exchange", async () => {
  const source = await loggedIn();
  let calls = 0;
  const bb = new Benben({
    baseUrl: BASE_URL,
    refresh: async () => {
      calls += 1;
      return (await source.refresh(), source.accessToken);
    },
  });
  // No token at all: the first request gets one through the callback (a console page reload).
  assert.equal((await bb.me()).user.username, USERNAME);
  bb.accessToken = spoiled(bb.accessToken);
  assert.equal((await bb.me()).user.username, USERNAME);
  assert.equal(calls, 2);
});

test("without a way to refresh, the 401 is thrown", async () => {
  const bb = await loggedIn();
  const plain = new Benben({ baseUrl: BASE_URL, accessToken: spoiled(bb.accessToken) });
  await assert.rejects(plain.me(), (err) => err instanceof ProblemError && err.type === "urn:benben:problem:invalid-token");
});

test("logout ends the session: its tokens are refused", async () => {
  const bb = await loggedIn();
  const { accessToken, refreshToken } = bb;
  await bb.logout();
  assert.equal(bb.accessToken, null);
  const again = new Benben({ baseUrl: BASE_URL, accessToken, refreshToken });
  await assert.rejects(again.me(), (err) => err instanceof ProblemError && err.status === 401);
});

test("API tokens: create, use, list, revoke", async () => {
  const bb = await loggedIn();
  const name = `ci-${Date.now()}`;
  const created = await bb.tokens.create({ name, scopes: ["read"], expires_in: 3600 });
  assert.match(created.token, /^bbn_/);
  const machine = new Benben({ baseUrl: BASE_URL, accessToken: created.token });
  assert.equal((await machine.me()).credential, "api_token");
  const listed = [];
  for await (const token of bb.tokens.iterate({ _limit: 1 })) listed.push(token.name);
  assert.ok(listed.includes(name));
  await bb.tokens.revoke(created.id);
  await assert.rejects(machine.me(), (err) => err.status === 401);
});
