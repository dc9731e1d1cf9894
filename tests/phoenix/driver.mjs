// Drives the official phoenix.js client (npm `phoenix`, over the `ws` package) for the
// Python tests in this folder.
//
// Commands arrive on stdin, one JSON object per line; everything the client observes is
// printed on stdout, one JSON object per line, in the order it happened:
//
//   {"op":"socket","sock":"a","url":"ws://127.0.0.1:PORT/socket","params":{..},
//    "authToken":"..","heartbeatIntervalMs":N,"retryMs":N}
//                                     -> {"ev":"open"|"close"|"error","sock":"a",..}
//                                        {"ev":"heartbeat","sock":"a","status":"ok"}
//   {"op":"join","sock":"a","topic":"room:x","params":{..},"events":["said",..]}
//                                     -> {"ev":"join","status":"ok"|"error"|"timeout",..}
//                                        (again after every rejoin)
//                                        {"ev":"message","topic":..,"event":..,"payload":..}
//                                        {"ev":"chan_error"|"chan_close","topic":..}
//     with "presence": true, a phoenix.js Presence on the channel:
//                                     -> {"ev":"sync","sock":"a","topic":..,
//                                         "list":[{"key":..,"metas":[..]},..]} (onSync)
//                                        {"ev":"presence_join"|"presence_leave","key":..}
//   {"op":"push","sock":"a","topic":..,"event":..,"payload":..,"tag":"t","binary":false}
//                                     -> {"ev":"reply","tag":"t","status":..,"response":..}
//   {"op":"leave","sock":"a","topic":..,"tag":"t"}  -> {"ev":"left","tag":"t","status":..}
//   {"op":"disconnect","sock":"a"}                 -> {"ev":"disconnected","sock":"a"}
//   {"op":"exit"}
//
// Binary payloads travel as base64 strings with "binary": true.
import { createInterface } from "node:readline";
import { Presence, Socket } from "phoenix";
import WebSocket from "ws";

const sockets = new Map();
const channels = new Map();

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

function wire(value) {
  if (value instanceof ArrayBuffer) {
    return { binary: true, data: Buffer.from(value).toString("base64") };
  }
  return { binary: false, data: value };
}

function toArrayBuffer(b64) {
  const buf = Buffer.from(b64, "base64");
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
}

const handlers = {
  socket(cmd) {
    const retry = cmd.retryMs ?? 50;
    const opts = {
      transport: WebSocket,
      params: cmd.params ?? {},
      heartbeatIntervalMs: cmd.heartbeatIntervalMs ?? 30000,
      reconnectAfterMs: () => retry,
      rejoinAfterMs: () => retry,
      timeout: cmd.timeout ?? 5000,
    };
    if (cmd.authToken) opts.authToken = cmd.authToken;
    const socket = new Socket(cmd.url, opts);
    socket.onOpen(() => out({ ev: "open", sock: cmd.sock }));
    socket.onClose((event) =>
      out({ ev: "close", sock: cmd.sock, code: event?.code ?? null, reason: event?.reason ?? null }),
    );
    socket.onError(() => out({ ev: "error", sock: cmd.sock }));
    socket.onMessage((msg) => {
      if (msg.topic === "phoenix" && msg.event === "phx_reply") {
        out({ ev: "heartbeat", sock: cmd.sock, status: msg.payload.status });
      }
    });
    sockets.set(cmd.sock, socket);
    socket.connect();
  },

  join(cmd) {
    const socket = sockets.get(cmd.sock);
    const channel = socket.channel(cmd.topic, cmd.params ?? {});
    const base = { sock: cmd.sock, topic: cmd.topic };
    for (const event of cmd.events ?? []) {
      channel.on(event, (payload) => out({ ev: "message", ...base, event, payload: wire(payload) }));
    }
    if (cmd.presence) {
      const presence = new Presence(channel);
      presence.onJoin((key) => out({ ev: "presence_join", ...base, key }));
      presence.onLeave((key) => out({ ev: "presence_leave", ...base, key }));
      presence.onSync(() =>
        out({ ev: "sync", ...base, list: presence.list((key, p) => ({ key, metas: p.metas })) }),
      );
    }
    channel.onError(() => out({ ev: "chan_error", ...base }));
    channel.onClose(() => out({ ev: "chan_close", ...base }));
    channels.set(`${cmd.sock}/${cmd.topic}`, channel);
    channel
      .join()
      .receive("ok", (response) => out({ ev: "join", ...base, status: "ok", response }))
      .receive("error", (response) => out({ ev: "join", ...base, status: "error", response }))
      .receive("timeout", () => out({ ev: "join", ...base, status: "timeout" }));
  },

  push(cmd) {
    const channel = channels.get(`${cmd.sock}/${cmd.topic}`);
    const payload = cmd.binary ? toArrayBuffer(cmd.payload) : cmd.payload;
    const base = { sock: cmd.sock, topic: cmd.topic, tag: cmd.tag };
    channel
      .push(cmd.event, payload)
      .receive("ok", (r) => out({ ev: "reply", ...base, status: "ok", response: wire(r) }))
      .receive("error", (r) => out({ ev: "reply", ...base, status: "error", response: wire(r) }))
      .receive("timeout", () => out({ ev: "reply", ...base, status: "timeout" }));
  },

  leave(cmd) {
    const channel = channels.get(`${cmd.sock}/${cmd.topic}`);
    const base = { sock: cmd.sock, topic: cmd.topic, tag: cmd.tag };
    channel
      .leave()
      .receive("ok", () => out({ ev: "left", ...base, status: "ok" }))
      .receive("timeout", () => out({ ev: "left", ...base, status: "timeout" }));
  },

  disconnect(cmd) {
    sockets.get(cmd.sock).disconnect(() => out({ ev: "disconnected", sock: cmd.sock }));
  },

  exit() {
    for (const socket of sockets.values()) socket.disconnect();
    process.exit(0);
  },
};

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  if (!line.trim()) return;
  let cmd;
  try {
    cmd = JSON.parse(line);
    handlers[cmd.op](cmd);
  } catch (err) {
    out({ ev: "fatal", error: String(err?.stack ?? err), line });
  }
});
lines.on("close", () => process.exit(0));
out({ ev: "ready" });
