// A Server-Sent Events parser (the WHATWG HTML "event stream" format), for reading a change
// stream through fetch: EventSource cannot send an Authorization header, and a fetch body can.
// It takes the body's bytes in whatever chunks they come and gives whole events.

/** An event stream's parser: `push(bytes)` returns the events those bytes completed. */
export class EventStreamParser {
  constructor() {
    this._decoder = new TextDecoder("utf-8"); // drops a leading BOM, as the format wants
    this._pending = ""; // text not yet ended by a line break
    this._skipLf = false; // the last chunk ended with CR: an LF starting the next one is its pair
    this._reset();
    /** Comment lines seen (heartbeats). */
    this.comments = 0;
    /** The last `id:` seen (kept across events, as EventSource keeps it). */
    this.lastEventId = "";
    /** The last valid `retry:` (milliseconds), or null. */
    this.retry = null;
  }

  /**
   * Parses `chunk` (a Uint8Array or a string); returns the events it completed, each
   * `{event, data, id}`: `event` "message" when unnamed, `id` the last event id at its dispatch.
   * Comments (heartbeats) are only counted, in `comments`.
   */
  push(chunk) {
    let text = typeof chunk === "string" ? chunk : this._decoder.decode(chunk, { stream: true });
    if (!text) return []; // a character's first bytes only
    if (this._skipLf && text.startsWith("\n")) text = text.slice(1);
    this._skipLf = text.endsWith("\r");
    const events = [];
    const lines = (this._pending + text).split(/\r\n|\r|\n/);
    this._pending = lines.pop(); // not ended yet: the next chunk may continue it
    for (const line of lines) this._line(line, events);
    return events;
  }

  _reset() {
    this._event = "";
    this._data = [];
  }

  _line(line, events) {
    if (line === "") {
      if (this._data.length) {
        events.push({ event: this._event || "message", data: this._data.join("\n"), id: this.lastEventId });
      }
      this._reset();
      return;
    }
    if (line.startsWith(":")) {
      this.comments += 1;
      return;
    }
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this._event = value;
    else if (field === "data") this._data.push(value);
    else if (field === "id" && !value.includes("\0")) this.lastEventId = value;
    else if (field === "retry" && /^[0-9]+$/.test(value)) this.retry = Number(value);
    // Any other field is ignored, as the format says.
  }
}
