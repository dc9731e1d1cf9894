// Drives the official phoenix.js client through a recovery, for tests/phoenix/test_history_js.py.
//
// One socket, one channel.  The channel's params are a function, evaluated by phoenix.js at
// every (re)join: it sends {since: <last position seen>} once a publication was seen.  The
// position is the `ref` phoenix.js passes as the second argument of `channel.on` callbacks
// ("<epoch>:<offset>").  The socket's transport connects to whichever port was set last, so a
// reconnect can land on another server process.
//
//   {"op":"start","url":"ws://127.0.0.1:PORT/ws","port":N,"topic":"room:x","event":"said"}
//        -> {"ev":"join","status":..,"response":..,"params":..}   (after every (re)join)
//           {"ev":"message","payload":..,"ref":..}
//   {"op":"cut","port":N}   close the connection as a network failure would, and reconnect
//                           (phoenix.js retries every 50 ms) to port N from now on
//   {"op":"target","port":N}   connect to port N from the next (re)connect on
//   {"op":"exit"}
import { createInterface } from "node:readline";
import { Socket } from "phoenix";
import WebSocket from "ws";

let port = null;
let socket = null;
let last = null;

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

class Retargeted extends WebSocket {
  constructor(url, protocols) {
    const target = new URL(url);
    target.port = String(port);
    super(target.toString(), protocols);
  }
}

const handlers = {
  start(cmd) {
    port = cmd.port;
    socket = new Socket(cmd.url, {
      transport: Retargeted,
      reconnectAfterMs: () => 50,
      rejoinAfterMs: () => 50,
      heartbeatIntervalMs: 30000,
    });
    socket.connect();
    const params = () => (last === null ? {} : { since: last });
    const channel = socket.channel(cmd.topic, params);
    channel.on(cmd.event, (payload, ref) => {
      const [epoch, offset] = ref.split(":");
      last = { epoch, offset: Number(offset) };
      out({ ev: "message", payload, ref });
    });
    channel
      .join()
      .receive("ok", (response) => out({ ev: "join", status: "ok", response, params: params() }))
      .receive("error", (response) => out({ ev: "join", status: "error", response }));
  },

  cut(cmd) {
    port = cmd.port;
    socket.conn.close(4000, "network cut");  // not socket.disconnect(): phoenix.js reconnects
  },

  target(cmd) {
    port = cmd.port;
  },

  exit() {
    if (socket) socket.disconnect();
    process.exit(0);
  },
};

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  if (!line.trim()) return;
  try {
    const cmd = JSON.parse(line);
    handlers[cmd.op](cmd);
  } catch (err) {
    out({ ev: "fatal", error: String(err?.stack ?? err), line });
  }
});
lines.on("close", () => process.exit(0));
out({ ev: "ready" });
