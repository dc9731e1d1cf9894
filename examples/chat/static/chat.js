// The sockethub chat demo client: plain JavaScript, no build step.
//
// Wire protocol (see examples/chat/app.py): frames are {"topic", "event", "payload"};
// a room is the topic "room:<name>"; errors are {"code", "reason"}.  Who is in a room
// comes as Phoenix-style presence (asked for with {presence: true} in the join payload):
// presence_state {user: {metas: [{phx_ref}, ...]}} once after a join, then
// presence_diff {joins, leaves} (same shape) for every change.
//
// The page joins "chat:<name>", the room with history: its message and announce frames
// carry {"offset", "epoch"}.  The page remembers the last position it saw per room and
// joins again with {since: {offset, epoch}}; the join reply's response.history says
// whether what was missed follows (recovered) or not (a notice is shown).  A server
// without that topic (examples/legacy_chat) answers 4404, and the page falls back to
// "room:<name>", where frames carry no position.
"use strict";

const $ = (id) => document.getElementById(id);
const els = {
  banner: $("banner"), bannerText: $("banner-text"), reconnectNow: $("reconnect-now"),
  status: $("status"), joinForm: $("join-form"), name: $("name"), room: $("room"),
  join: $("join"), leave: $("leave"), currentRoom: $("current-room"),
  memberCount: $("member-count"), members: $("members"), messages: $("messages"),
  sayForm: $("say-form"), text: $("text"), send: $("send"), curlHint: $("curl-hint"),
};

const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000]; // then stays at the last step

const state = {
  user: "",        // the name the current socket was opened with
  room: "",        // the room we are in (or want to be in again after a reconnect)
  ws: null,
  attempt: 0,      // failed connection attempts in a row
  retryTimer: 0,
  countdownTimer: 0,
  joinedOnce: false,
  presence: new Map(), // user -> metas (one per tab) in the current room
  prefix: "chat",  // "chat" (rooms with history), or "room" on a server without them
  positions: new Map(), // room -> {offset, epoch}: the last publication seen there
  pendingJoin: null, // {ref, room, since} until the join's reply arrives
  recovery: null,  // {upto, epoch, count, shown}: publications up to `upto` were missed
  refs: 0,
  myIds: new Set(), // ids of the messages this page said (it hears them like everyone)
};

const topicOf = (room) => `${state.prefix}:${room}`;

// ---------------------------------------------------------------- rendering

function timeNow() {
  return new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function hue(name) {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.codePointAt(0)) % 360;
  return h;
}

function avatar(name) {
  const el = document.createElement("span");
  el.className = "avatar";
  el.textContent = (name[0] || "?").toUpperCase();
  el.style.background = `hsl(${hue(name)} 55% 45%)`;
  return el;
}

function addLine(kind, parts, missed = false) {
  const li = document.createElement("li");
  li.className = `line ${kind}`;
  li.dataset.kind = kind;
  if (missed) {
    li.classList.add("missed");
    li.dataset.missed = "true";
  }
  for (const part of parts) li.append(part);
  const time = document.createElement("time");
  time.textContent = timeNow();
  li.append(time);
  const list = els.messages;
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.append(li);
  if (atBottom || kind === "mine") list.scrollTop = list.scrollHeight;
  return li;
}

function span(cls, text) {
  const el = document.createElement("span");
  el.className = cls;
  el.textContent = text;
  return el;
}

function addChat(kind, user, text, missed = false) {
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  bubble.append(span("author", kind === "mine" ? `${user} (you)` : user), span("text", text));
  addLine(kind, [avatar(user), bubble], missed);
}

const addSystem = (text) => addLine("system", [span("text", text)]);
const addError = (text) => addLine("error", [span("text", text)]);

function renderMembers(names) {
  els.members.replaceChildren(
    ...names.map((name) => {
      const li = document.createElement("li");
      li.dataset.user = name;
      li.append(avatar(name), span("member-name", name === state.user ? `${name} (you)` : name));
      return li;
    }),
  );
  els.memberCount.textContent = names.length ? `${names.length} online` : "";
}

function setStatus(kind, text) {
  els.status.dataset.state = kind;
  document.body.dataset.connection = kind;
  els.status.textContent = text;
}

function renderRoom() {
  const inRoom = Boolean(state.room);
  const live = inRoom && state.ws && state.ws.readyState === WebSocket.OPEN;
  els.currentRoom.textContent = inRoom ? `#${state.room}` : "Not in a room";
  els.leave.disabled = !inRoom;
  els.text.disabled = !live;
  els.send.disabled = !live;
  els.text.placeholder = live ? `Message #${state.room}` : inRoom ? "Waiting for the connection…" : "Join a room to chat";
  els.members.dataset.empty = inRoom ? "Nobody here yet." : "Join a room to see who is here.";
  if (!inRoom) renderMembers([]);
  const room = encodeURIComponent(state.room || els.room.value.trim() || "lobby");
  els.curlHint.textContent =
    `curl -X POST ${location.origin}/rooms/${room}/announce ` +
    `-H 'content-type: application/json' -d '{"text": "hello"}'`;
}

// ---------------------------------------------------------------- the socket

function send(topic, event, payload = {}, ref = undefined) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) {
    const frame = ref === undefined ? { topic, event, payload } : { topic, event, payload, ref };
    state.ws.send(JSON.stringify(frame));
    return true;
  }
  return false;
}

// Join `room`, from the last position seen there if there is one.  The join carries a
// ref, so the server replies (the reply says whether recovery worked).
function sendJoin(room) {
  const since = state.prefix === "chat" ? state.positions.get(room) : undefined;
  state.refs += 1;
  const ref = String(state.refs);
  state.pendingJoin = { ref, room, since: since || null };
  state.recovery = null;
  return send(topicOf(room), "join", since ? { presence: true, since } : { presence: true }, ref);
}

function onJoinReply(frame) {
  const pending = state.pendingJoin;
  if (!pending || frame.ref !== pending.ref) return;
  state.pendingJoin = null;
  const status = frame.payload && frame.payload.status;
  const response = (frame.payload && frame.payload.response) || {}; // null from some servers
  if (status !== "ok") {
    onError({ code: 4403, reason: response.reason || "refused" });
    return;
  }
  const history = response.history;
  if (!history) return;
  if (history.was_recovering && !history.recovered) {
    addLine("gap", [span("text",
      "Some messages may be missing: the server could not replay what was said while " +
      "you were away (its history was lost in a restart, or no longer reaches back).")]);
  } else if (history.recovered && history.offset > pending.since.offset) {
    // What follows the presence state, up to this offset, was published while we were away.
    state.recovery = {
      upto: history.offset, epoch: history.epoch,
      count: history.offset - pending.since.offset, shown: false,
    };
  }
  remember(pending.room, history);
}

// The position of the latest publication seen in `room`: offsets only grow in an epoch;
// another epoch replaces the old one.
function remember(room, { offset, epoch }) {
  const known = state.positions.get(room);
  if (!known || known.epoch !== epoch || offset > known.offset) {
    state.positions.set(room, { offset, epoch });
  }
}

// Whether a publication at `offset` is one we missed, and the divider before the first.
function wasMissed(offset, epoch) {
  const r = state.recovery;
  if (!r || epoch !== r.epoch || offset > r.upto) return false;
  if (!r.shown) {
    r.shown = true;
    const n = r.count === 1 ? "1 message" : `${r.count} messages`;
    addLine("missed-divider", [span("text", `Missed while you were away: ${n}`)]);
  }
  if (offset === r.upto) state.recovery = null;
  return true;
}

function connect() {
  clearTimeout(state.retryTimer);
  clearInterval(state.countdownTimer);
  const old = state.ws;
  state.ws = null; // detached first, so its close event is ignored
  if (old) old.close(1000);
  setStatus("connecting", "connecting…");
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/ws?user=${encodeURIComponent(state.user)}`);
  state.ws = ws;

  ws.onopen = () => {
    if (state.ws !== ws) return;
    state.attempt = 0;
    els.banner.hidden = true;
    setStatus("online", `online as ${state.user}`);
    if (state.room) sendJoin(state.room);
    renderRoom();
  };

  ws.onmessage = (msg) => {
    let frame;
    try {
      frame = JSON.parse(msg.data);
    } catch {
      return;
    }
    if (frame.event === undefined && "code" in frame) {
      onError(frame);
    } else if (frame.topic === topicOf(state.room)) {
      if (frame.event === "reply") {
        onJoinReply(frame);
        return;
      }
      let missed = false;
      if (typeof frame.offset === "number" && typeof frame.epoch === "string") {
        missed = wasMissed(frame.offset, frame.epoch);
        remember(state.room, frame);
      }
      onEvent(frame.event, frame.payload || {}, missed);
    }
  };

  ws.onclose = () => {
    if (state.ws !== ws) return; // a socket we replaced or closed on purpose
    state.ws = null;
    if (state.attempt === 0) addSystem("Connection lost.");
    renderRoom();
    scheduleReconnect();
  };
}

function scheduleReconnect() {
  const delay = BACKOFF_MS[Math.min(state.attempt, BACKOFF_MS.length - 1)];
  state.attempt += 1;
  const due = Date.now() + delay;
  setStatus("offline", "disconnected");
  const tick = () => {
    const seconds = Math.max(1, Math.ceil((due - Date.now()) / 1000));
    els.bannerText.textContent = `Disconnected — reconnecting in ${seconds}s…`;
  };
  tick();
  els.banner.hidden = false;
  clearInterval(state.countdownTimer);
  state.countdownTimer = setInterval(tick, 250);
  clearTimeout(state.retryTimer);
  state.retryTimer = setTimeout(() => {
    els.bannerText.textContent = "Disconnected — reconnecting now…";
    clearInterval(state.countdownTimer);
    connect();
  }, delay);
}

function applyPresenceDiff({ joins = {}, leaves = {} }) {
  // As phoenix.js's Presence: metas are matched by phx_ref, so a diff already seen is a no-op.
  for (const [user, { metas }] of Object.entries(joins)) {
    const known = state.presence.get(user) || [];
    const refs = new Set(metas.map((m) => m.phx_ref));
    if (!known.length) addLine("joined", [span("text", `${user} joined`)]);
    state.presence.set(user, [...known.filter((m) => !refs.has(m.phx_ref)), ...metas]);
  }
  for (const [user, { metas }] of Object.entries(leaves)) {
    const known = state.presence.get(user);
    if (!known) continue;
    const refs = new Set(metas.map((m) => m.phx_ref));
    const rest = known.filter((m) => !refs.has(m.phx_ref));
    if (rest.length) {
      state.presence.set(user, rest);
    } else {
      state.presence.delete(user);
      addLine("left", [span("text", `${user} left`)]);
    }
  }
  renderMembers([...state.presence.keys()].sort());
}

function onEvent(event, p, missed) {
  switch (event) {
    case "presence_state": // who is in, right after our own join
      state.presence = new Map(Object.entries(p).map(([user, { metas }]) => [user, metas]));
      renderMembers([...state.presence.keys()].sort());
      addSystem(state.joinedOnce ? `Rejoined #${state.room}.` : `You joined #${state.room}.`);
      state.joinedOnce = true;
      break;
    case "presence_diff":
      applyPresenceDiff(p);
      break;
    // members / joined / left: the 0.1-style server (examples/legacy_chat) sends these.
    case "members": // the reply to our own join
      renderMembers(p.members || []);
      addSystem(state.joinedOnce ? `Rejoined #${state.room}.` : `You joined #${state.room}.`);
      state.joinedOnce = true;
      break;
    case "joined":
      renderMembers(p.members || []);
      addLine("joined", [span("text", `${p.user} joined`)]);
      break;
    case "left":
      renderMembers(p.members || []);
      addLine("left", [span("text", `${p.user} left`)]);
      break;
    case "message": // ours too on a room with history: `id` says it is ours
      addChat(p.id && state.myIds.has(p.id) ? "mine" : "message", p.user, p.text, missed);
      break;
    case "sent": // our own message, echoed back to us only
      addChat("mine", p.user, p.text);
      break;
    case "announce":
      addLine("announce", [span("badge", "announcement"), span("text", p.text)], missed);
      break;
    default:
      break;
  }
}

function onError(frame) {
  if (frame.code === 4404 && state.pendingJoin && state.prefix === "chat") {
    // A server without rooms with history (examples/legacy_chat): use the plain topic.
    state.prefix = "room";
    sendJoin(state.pendingJoin.room);
    return;
  }
  if (frame.code === 4403 && state.room) {
    addError(`Could not join #${state.room}: ${frame.reason}`);
    state.room = "";
    renderRoom();
  } else {
    addError(`Server says ${frame.code}: ${frame.reason}`);
  }
}

// ---------------------------------------------------------------- the forms

function joinRoom(event) {
  event.preventDefault();
  const user = els.name.value.trim();
  const room = els.room.value.trim();
  if (!user || !room) return;
  localStorage.setItem("sockethub-chat-name", user);
  if (room === state.room && user === state.user && state.ws) return;
  if (state.room && state.room !== room) {
    send(topicOf(state.room), "leave");
    addSystem(`You left #${state.room}.`);
  }
  state.room = room;
  state.joinedOnce = false;
  state.presence = new Map();
  if (user !== state.user || !state.ws) {
    // A new name needs a new socket; the join is sent once it is open.
    state.user = user;
    state.attempt = 0;
    connect();
  } else {
    sendJoin(room);
  }
  renderRoom();
}

function leaveRoom() {
  if (!state.room) return;
  send(topicOf(state.room), "leave");
  addSystem(`You left #${state.room}.`);
  state.room = "";
  state.presence = new Map();
  renderRoom();
}

function say(event) {
  event.preventDefault();
  const text = els.text.value.trim();
  if (!text || !state.room) return;
  let payload = { text };
  if (state.prefix === "chat") {
    const id = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
    state.myIds.add(id);
    payload = { text, id };
  }
  if (send(topicOf(state.room), "say", payload)) els.text.value = "";
}

els.joinForm.addEventListener("submit", joinRoom);
els.leave.addEventListener("click", leaveRoom);
els.sayForm.addEventListener("submit", say);
els.room.addEventListener("input", renderRoom);
els.reconnectNow.addEventListener("click", () => {
  state.attempt = 0;
  connect();
});

els.name.value = localStorage.getItem("sockethub-chat-name") || "";
(els.name.value ? els.room : els.name).focus();
renderRoom();
