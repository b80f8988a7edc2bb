// Engine.IO v4 client peer built on the third-party `engine.io-client`,
// talking to an echo route (every message comes back to its sender).
//
//   node eio_client.mjs URL MODE [--count N] [--token T] [--timeout S]
//
// MODE:
//   polling    transports ['polling'], no upgrade
//   websocket  transports ['websocket']
//   upgrade    polling first, upgraded to a WebSocket while messages flow
//   token      without the token (the error), then with it (?token=T)
//   close      sends "bye"; the server closes the connection
//
// In the echo modes it sends N messages (default 200), text `m{i}` and
// binary [i & 255, i >> 8, 0xfe] alternately, one every 5 ms, and checks that
// every echo comes back exactly once and in order.
//
// Prints one JSON object per line on stdout:
//   {"event":"open","transport":T,"sid":S,"upgrades":[...]}
//   {"event":"upgrade","transport":T,"sent":N}   N messages were sent before
//   {"event":"done","received":N,"ordered":B,"binaries":N,"transport":T,"sentAfterUpgrade":N}
//   {"event":"error","message":M,"description":D,"body":B}
//   {"event":"close","reason":R}
//   {"event":"timeout"}
// It always exits by itself, at the latest after --timeout seconds (default 20).

import { Socket } from "engine.io-client";

const args = process.argv.slice(2);
const url = args.shift();
const mode = args.shift();
let count = 200;
let token = null;
let timeout = 20;
while (args.length > 0) {
  const flag = args.shift();
  const value = args.shift();
  if (value === undefined) throw new Error(`${flag} needs a value`);
  if (flag === "--count") count = Number(value);
  else if (flag === "--token") token = value;
  else if (flag === "--timeout") timeout = Number(value);
  else throw new Error(`unknown flag ${flag}`);
}

const emit = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const timer = setTimeout(() => {
  emit({ event: "timeout" });
  process.exit(3);
}, timeout * 1000);

// After a close, a moment for the client's last request (its close
// packet or frame) to go out.
const exitSoon = () => {
  clearTimeout(timer);
  setTimeout(() => process.exit(0), 300);
};

const transports = {
  polling: ["polling"],
  websocket: ["websocket"],
  upgrade: ["polling", "websocket"],
  token: ["polling"],
  close: ["polling", "websocket"],
}[mode];
if (!transports) throw new Error(`unknown mode ${mode}`);

function open(opts) {
  return new Socket(url, { transports, upgrade: mode === "upgrade" || mode === "close", ...opts });
}

function message(i) {
  return i % 2 === 0 ? `m${i}` : Buffer.from([i & 255, i >> 8, 0xfe]);
}

function same(i, data) {
  if (i % 2 === 0) return data === `m${i}`;
  const b = Buffer.isBuffer(data) ? data : Buffer.from(data);
  return b.length === 3 && b[0] === (i & 255) && b[1] === i >> 8 && b[2] === 0xfe;
}

function onOpen(socket) {
  emit({
    event: "open",
    transport: socket.transport.name,
    sid: socket.id,
    upgrades: socket._upgrades ?? null,
  });
}

function echo() {
  const socket = open(token ? { query: { token } } : {});
  let sent = 0;
  let received = 0;
  let ordered = true;
  let binaries = 0;
  let sentAtUpgrade = null;
  let sender = null;
  let stopped = false;
  let finished = false;
  const check = () => {
    if (!stopped || finished || received !== sent) return;
    finished = true;
    emit({
      event: "done",
      received,
      ordered,
      binaries,
      transport: socket.transport.name,
      sentAfterUpgrade: sentAtUpgrade === null ? null : sent - sentAtUpgrade,
    });
    socket.close();
  };
  socket.on("open", () => {
    onOpen(socket);
    sender = setInterval(() => {
      // In upgrade mode, keep sending until some went after the upgrade.
      const upgraded = mode !== "upgrade" || (sentAtUpgrade !== null && sent >= sentAtUpgrade + 20);
      if (sent >= count && upgraded) {
        clearInterval(sender);
        stopped = true;
        check();
        return;
      }
      socket.send(message(sent));
      sent += 1;
    }, 5);
  });
  socket.on("upgrade", (t) => {
    sentAtUpgrade = sent;
    emit({ event: "upgrade", transport: t.name, sent });
  });
  socket.on("message", (data) => {
    if (typeof data !== "string") binaries += 1;
    if (!same(received, data)) ordered = false;
    received += 1;
    check();
  });
  socket.on("error", (e) =>
    emit({ event: "error", message: String(e && e.message), description: String(e && e.description) }),
  );
  socket.on("close", (reason) => {
    clearInterval(sender);
    emit({ event: "close", reason });
    exitSoon();
  });
}

function refused() {
  const socket = open({});
  socket.on("open", () => {
    emit({ event: "open", transport: socket.transport.name, sid: socket.id });
    process.exit(4);
  });
  socket.on("error", (e) => {
    const ctx = e && e.context;
    emit({
      event: "error",
      message: String(e && e.message),
      description: String(e && e.description),
      body: ctx && typeof ctx.responseText === "string" ? ctx.responseText : null,
    });
    socket.close();
    // Then with the token, which the server takes.
    const ok = open({ query: { token } });
    ok.on("open", () => {
      onOpen(ok);
      ok.close();
    });
    ok.on("close", (reason) => {
      emit({ event: "close", reason });
      exitSoon();
    });
  });
}

function closed() {
  const socket = open({});
  socket.on("open", () => {
    onOpen(socket);
    socket.send("hello");
  });
  socket.on("message", (data) => {
    emit({ event: "message", data: String(data) });
    if (data === "hello") socket.send("bye");
  });
  socket.on("close", (reason) => {
    emit({ event: "close", reason });
    exitSoon();
  });
}

if (mode === "token") refused();
else if (mode === "close") closed();
else echo();
