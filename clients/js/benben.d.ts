// Declarations of Benben's JavaScript client (benben.js). The data types come from
// benben-types.d.ts, generated from the OpenAPI document by `python -m benben.client`.

import type {
  ApiRoot, ApiToken, ApiTokenCreate, ApiTokenList, Attachment, AttachmentDeleted, AttachmentList,
  AttachmentPolicy, AttachmentPolicyUpdate, BatchRequest, BatchResponse, BenbenRecord, Collection,
  CollectionCreate, CollectionList, CollectionMergePatch, CollectionPut, CreatedApiToken,
  CreatedWebhook, DryRunReport, Event as FeedEvent, EventFeedPage, Group, GroupCreate, GroupList, GroupUpdate,
  HistoryEntry, HistoryList, JsonObject, JsonPatch, Me, Member, MemberList, MemberRequest, Problem,
  ProblemErrorEntry, Readiness, RecordMergePatch, RecordPermissions, Tombstone, TokenPair,
  UpdatedUser, User, UserCreate, UserList, UserUpdate, Version, Webhook, WebhookCreate,
  WebhookDelivery, WebhookDeliveryDetail, WebhookDeliveryList, WebhookList, WebhookRedeliver,
  WebhookRedelivered, WebhookUpdate, WebhookWithNewSecret,
} from "./benben-types.js";

export * from "./benben-types.js";

/** A resource read by the client: the JSON, plus its ETag (not enumerable) when it had one. */
export type WithEtag<T> = T & { readonly etag?: string };

/** A record whose data has the type D (the collection's schema, as the caller knows it). */
export type TypedRecord<D = JsonObject> = Omit<BenbenRecord, "data"> & { data: D };

/** What If-Match takes: an ETag, or a resource read earlier (its etag or last_modified). */
export type Precondition = string | number | { etag?: string; last_modified?: number };

/** Query parameters: an object, [key, value] pairs (a key given twice), a URLSearchParams. */
export type Query =
  | { [key: string]: unknown }
  | Array<[string, unknown]>
  | URLSearchParams
  | string;

export interface RequestOptions {
  headers?: HeadersInit;
  query?: Query;
  signal?: AbortSignal;
  /** Milliseconds before the request is aborted (default: the client's `timeout`). */
  timeout?: number;
  ifMatch?: Precondition;
  ifNoneMatch?: "*" | Precondition;
}

export interface AnyRequestOptions extends RequestOptions {
  /** Sent as JSON (Content-Type application/json unless headers name another). */
  json?: unknown;
  body?: BodyInit;
  /** The Response itself rather than its parsed body (still throws on errors). */
  raw?: boolean;
  /** false: no Authorization header. */
  auth?: boolean;
  /** false: no refresh-and-retry on a 401. */
  refresh?: boolean;
  /** Encode `query` as a records query (typed filter values). */
  records?: boolean;
}

export interface BenbenOptions {
  /** The instance's URL; "" (the default) for the page's own origin. */
  baseUrl?: string;
  accessToken?: string | null;
  refreshToken?: string | null;
  /** Replaces the refresh-token exchange: returns a new access token (or a token pair). */
  refresh?: () => Promise<string | { access_token: string; refresh_token?: string }>;
  /** Told of every new token pair (login, refresh) and of null (logout), e.g. to store them. */
  onTokens?: (tokens: Partial<TokenPair> | null) => void;
  fetch?: typeof fetch;
  /** Default timeout of every request, milliseconds. */
  timeout?: number;
}

/** The envelope of every list (docs/api-conventions.md). */
export interface Page<T> {
  data: T[];
  next: string | null;
  total?: number;
}

export interface ListOf<T, Q = ListQuery> {
  list(query?: Q, options?: RequestOptions): Promise<Page<T>>;
  /** Every page, following `next`. */
  pages(query?: Q, options?: RequestOptions): AsyncGenerator<Page<T>>;
  /** Every item of every page. */
  iterate(query?: Q, options?: RequestOptions): AsyncGenerator<T>;
}

export interface ListQuery {
  _limit?: number;
  _sort?: string | string[];
  _count?: boolean;
  _cursor?: string;
  [filter: string]: unknown;
}

/** Records' query language (docs/data-queries.md): `field` or `field__op` filters, typed values. */
export interface RecordQuery extends ListQuery {
  _fields?: string | string[];
  _since?: number | string;
  _before?: number | string;
}

export interface DryRun {
  /** Store nothing: report which existing records the new schema refuses. */
  dryRun?: boolean;
}

export declare class HttpError extends Error {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
  readonly url: string;
  readonly method: string;
  /** The answer's ETag: on a 412, the resource's current one. */
  readonly etag: string | null;
}

export declare class ProblemError extends HttpError {
  /** The RFC 9457 body. */
  readonly problem: Problem & { [member: string]: unknown };
  readonly type: string;
  readonly title: string;
  readonly detail: string | null;
  readonly errors: ProblemErrorEntry[];
}

export interface CollectionsApi extends ListOf<Collection> {
  get(cid: string, options?: RequestOptions): Promise<WithEtag<Collection>>;
  create(body: CollectionCreate, options?: RequestOptions): Promise<WithEtag<Collection>>;
  update(cid: string, body: CollectionPut, options?: RequestOptions & DryRun): Promise<WithEtag<Collection> | DryRunReport>;
  patch(cid: string, patch: CollectionMergePatch, options?: RequestOptions & DryRun): Promise<WithEtag<Collection> | DryRunReport>;
  jsonPatch(cid: string, ops: JsonPatch, options?: RequestOptions & DryRun): Promise<WithEtag<Collection> | DryRunReport>;
  delete(cid: string, options?: RequestOptions): Promise<null>;
  attachmentPolicy(cid: string, options?: RequestOptions): Promise<AttachmentPolicy>;
  setAttachmentPolicy(cid: string, body: AttachmentPolicyUpdate, options?: RequestOptions): Promise<AttachmentPolicy>;
}

export interface RecordsApi<D = JsonObject> extends ListOf<TypedRecord<D> | Tombstone, RecordQuery> {
  get(rid: string, options?: RequestOptions): Promise<WithEtag<TypedRecord<D>>>;
  create(data: D, options?: RequestOptions & { permissions?: RecordPermissions }): Promise<WithEtag<TypedRecord<D>>>;
  put(rid: string, body: { data: D; permissions?: RecordPermissions }, options?: RequestOptions): Promise<WithEtag<TypedRecord<D>>>;
  patch(rid: string, patch: RecordMergePatch, options?: RequestOptions): Promise<WithEtag<TypedRecord<D>>>;
  jsonPatch(rid: string, ops: JsonPatch, options?: RequestOptions): Promise<WithEtag<TypedRecord<D>>>;
  delete(rid: string, options?: RequestOptions): Promise<Tombstone>;
}

export interface AttachmentsApi extends ListOf<Attachment> {
  upload(
    name: string,
    content: Blob | ArrayBuffer | ArrayBufferView | string | ReadableStream<Uint8Array>,
    options?: RequestOptions & { contentType?: string; replace?: boolean },
  ): Promise<WithEtag<Attachment>>;
  /** The download URL (it needs the Authorization header: use download() in a browser). */
  url(name: string, options?: { download?: boolean }): string;
  /** The download's Response (`range`: a Range header value such as "bytes=0-99"). */
  download(name: string, options?: RequestOptions & { range?: string }): Promise<Response>;
  delete(name: string, options?: RequestOptions): Promise<AttachmentDeleted>;
}

export interface CrudApi<T, Create, Update, Created = T> extends ListOf<T> {
  get(id: string, options?: RequestOptions): Promise<WithEtag<T>>;
  create(body: Create, options?: RequestOptions): Promise<Created>;
  update(id: string, body: Update, options?: RequestOptions): Promise<T>;
  delete(id: string, options?: RequestOptions): Promise<null>;
}

export interface MembersApi extends ListOf<Member> {
  add(who: MemberRequest, options?: RequestOptions): Promise<Member>;
  get(userId: string, options?: RequestOptions): Promise<Member>;
  put(userId: string, options?: RequestOptions): Promise<Member>;
  remove(userId: string, options?: RequestOptions): Promise<null>;
}

export interface GroupsApi extends CrudApi<Group, GroupCreate, GroupUpdate> {
  members(groupId: string): MembersApi;
}

export interface TokensApi extends ListOf<ApiToken> {
  get(id: string, options?: RequestOptions): Promise<ApiToken>;
  create(body: ApiTokenCreate, options?: RequestOptions): Promise<CreatedApiToken>;
  revoke(id: string, options?: RequestOptions): Promise<null>;
  delete(id: string, options?: RequestOptions): Promise<null>;
}

export interface WebhooksApi extends CrudApi<Webhook, WebhookCreate, WebhookUpdate, CreatedWebhook> {
  deliveries(id: string, query?: ListQuery & { status?: WebhookDelivery["status"] }, options?: RequestOptions): Promise<WebhookDeliveryList>;
  iterateDeliveries(id: string, query?: ListQuery, options?: RequestOptions): AsyncGenerator<WebhookDelivery>;
  delivery(id: string, deliveryId: string, options?: RequestOptions): Promise<WebhookDeliveryDetail>;
  /** One delivery again (its id), or everything since a time or an event. */
  redeliver(id: string, what: string | WebhookRedeliver, options?: RequestOptions): Promise<WebhookRedelivered | null>;
  test(id: string, options?: RequestOptions): Promise<unknown>;
  rotate(id: string, options?: RequestOptions): Promise<WebhookWithNewSecret>;
}

export interface EventsApi {
  list(query?: { _cursor?: string; _limit?: number; type?: string; collection?: string }, options?: RequestOptions): Promise<EventFeedPage>;
  /** Reads the feed on from `_cursor` until a page comes back empty. */
  iterate(query?: { _cursor?: string; _limit?: number; type?: string; collection?: string }, options?: RequestOptions): AsyncGenerator<EventFeedPage["data"][number]>;
}

/** What a change event's `data` holds (docs/events.md): ids, the version, the new values. */
export interface ChangeData {
  collection: string;
  /** The record's id (record.* events). */
  id?: string;
  last_modified?: number;
  /** The record's data (record.created, record.updated). */
  data?: JsonObject;
  permissions?: RecordPermissions;
  previous?: JsonObject;
  [member: string]: unknown;
}

/** A change, as a stream delivers it: the JSON of webhooks and GET /api/v1/events. */
export type ChangeEvent = Omit<FeedEvent, "data"> & { data: ChangeData };

/** A stream's first event: where it starts and how long it lasts. */
export interface StreamReady {
  /** The feed position it starts after (the ready event's id). */
  position: string;
  /** The collections followed; null: every one the caller may read. */
  collections: string[] | null;
  types: string[];
  heartbeat_seconds: number;
  /** Seconds until the server ends this stream (then the subscription reconnects). */
  expires_in: number;
  /** Why it will end then: "max-duration" or "token-expired". */
  end_reason: string;
}

/** Told when retention deleted events after the position resumed from: reload what you show. */
export interface StreamResync {
  /** "retention", or "position-ahead" (the feed is behind the position: a restored database). */
  reason: string;
  /** Where the stream goes on from (null: from now). */
  resume_at: string | null;
}

/** A stream the server ended: its reason ("max-duration", "shutdown", "token-expired",
 * "slow-consumer"; "disconnected" when the connection dropped) and the wait before reconnecting. */
export interface StreamEnd {
  reason: string;
  reconnectIn: number;
}

export interface StreamErrorInfo {
  /** true: the subscription stopped for good (`done` rejects with the error). */
  fatal: boolean;
  /** Milliseconds before the next attempt (null when none, or for a callback's error). */
  retryIn: number | null;
  /** Set when a callback threw: "handler", "onReady", "onResync", "onEnd". */
  callback?: string;
}

export interface SubscribeOptions {
  /** Only these event types: exact ones or `area.*` patterns (default: collection.* and record.*). */
  types?: string | string[];
  /** Resume after this event id (kept from an earlier subscription's lastEventId). */
  lastEventId?: string | null;
  signal?: AbortSignal;
  /** Milliseconds to wait for a stream to open (default: the client's `timeout`). */
  timeout?: number;
  /** First reconnection delay until the server's `retry:` hint comes (ms, default 1000). */
  retryDelay?: number;
  /** The longest wait between two attempts (ms, default 30000). */
  maxRetryDelay?: number;
  /** Each stream opened (the first, and each reconnection). */
  onReady?: (ready: StreamReady) => void | Promise<void>;
  /** Events were lost to retention: reload what you show (changes keep coming meanwhile). */
  onResync?: (resync: StreamResync) => void | Promise<void>;
  onEnd?: (end: StreamEnd) => void | Promise<void>;
  /** Every error: transient ones (retried on their own), fatal ones, callbacks' errors. A
   * callback error with no onError is reported as a throwing event listener's is. */
  onError?: (error: unknown, info: StreamErrorInfo) => void | Promise<void>;
}

export interface SubscribeAllOptions extends SubscribeOptions {
  /** Only these collections (default: every one the caller may read). */
  collections?: string | string[];
}

/** A change stream kept open: reconnects and resumes on its own until close(). */
export declare class Subscription {
  /** The last event handled, or where the stream started: what a reconnection resumes after. */
  readonly lastEventId: string | null;
  readonly state: "connecting" | "open" | "waiting" | "closed";
  /** The first stream's ready event; rejects if the subscription stops before it. */
  readonly ready: Promise<StreamReady>;
  /** Resolves after close() (or an aborted signal); rejects with the error that stopped it. */
  readonly done: Promise<void>;
  /** Stops for good: closes the connection, never reconnects. */
  close(): void;
}

/** The subscription stopped because the server ended the session (`reason`: "token-revoked"). */
export declare class SubscriptionError extends Error {
  readonly reason: string;
}

/** A Server-Sent Events parser: push the body's chunks, get the events they complete. */
export declare class EventStreamParser {
  readonly lastEventId: string;
  readonly retry: number | null;
  readonly comments: number;
  push(chunk: Uint8Array | string): Array<{ event: string; data: string; id: string }>;
}

/** -1, 0 or 1 as feed position `a` ("<tx>-<n>") is before, at or after `b`. */
export declare function comparePositions(a: string, b: string): -1 | 0 | 1;

export interface BatchOperation {
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** A data API path: "/api/v1/collections/..." ("/collections/..." gets the prefix). */
  path: string;
  body?: unknown;
  headers?: { [name: string]: string };
  ifMatch?: Precondition;
  ifNoneMatch?: "*";
}

export declare const API: "/api/v1";

export declare class Benben {
  constructor(options?: BenbenOptions);
  baseUrl: string;
  accessToken: string | null;
  refreshToken: string | null;
  timeout: number | null;
  readonly canRefresh: boolean;

  login(login: string, password: string): Promise<TokenPair>;
  logout(): Promise<void>;
  /** A new access token now (single-flight: concurrent callers share one refresh). */
  refresh(): Promise<string>;
  me(options?: RequestOptions): Promise<Me>;
  root(options?: RequestOptions): Promise<ApiRoot>;
  version(options?: RequestOptions): Promise<Version>;
  health(options?: RequestOptions): Promise<Readiness>;
  batch(requests: BatchOperation[], options?: RequestOptions & { defaults?: BatchRequest["defaults"] }): Promise<BatchResponse>;
  url(path: string, query?: Query): string;
  /** Calls `handler` with each change to the collection as it happens (docs/realtime.md). */
  subscribe(
    collectionId: string,
    handler: (event: ChangeEvent, id: string) => void | Promise<void>,
    options?: SubscribeOptions,
  ): Subscription;
  /** As subscribe(), for every collection the caller may read or `options.collections`. */
  subscribeAll(
    handler: (event: ChangeEvent, id: string) => void | Promise<void>,
    options?: SubscribeAllOptions,
  ): Subscription;
  /** A stream's URL with a single-use ticket, for EventSource (its reconnections need a new one). */
  changesUrl(
    collectionId?: string | null,
    options?: { collections?: string | string[]; types?: string | string[]; lastEventId?: string; signal?: AbortSignal },
  ): Promise<string>;
  request<T = any>(method: string, path: string, options?: AnyRequestOptions & { raw?: false }): Promise<T>;
  request(method: string, path: string, options: AnyRequestOptions & { raw: true }): Promise<Response>;

  readonly collections: CollectionsApi;
  records<D = JsonObject>(collectionId: string): RecordsApi<D>;
  history(collectionId: string): ListOf<HistoryEntry>;
  attachments(collectionId: string, recordId: string): AttachmentsApi;
  readonly users: CrudApi<User, UserCreate, UserUpdate> & { update(id: string, body: UserUpdate, options?: RequestOptions): Promise<UpdatedUser> };
  readonly groups: GroupsApi;
  readonly tokens: TokensApi;
  readonly webhooks: WebhooksApi;
  readonly events: EventsApi;
}

export declare function filterValue(key: string, value: unknown): string;
export declare function recordQuery(query?: Query): URLSearchParams;
export declare function plainQuery(query?: Query): URLSearchParams;

