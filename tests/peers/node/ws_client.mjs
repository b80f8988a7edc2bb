// WebSocket client peer built on the third-party `ws` package.
//
//   node ws_client.mjs URL [--expect N] [--send TEXT]... [--send-hex HEX]...
//                          [--subprotocol P] [--timeout S]
//
// Prints one JSON object per line on stdout:
//   {"event":"open","subprotocol":P,"extensions":E}  once the handshake is done (E: the negotiated Sec-WebSocket-Extensions, "" for none)
//   {"event":"text","data":"..."}          per text message
//   {"event":"binary","hex":"..."}         per binary message
//   {"event":"close","code":C,"reason":R}  when the connection closes
//   {"event":"timeout"}                    when --timeout seconds (default 10) pass first
//   {"event":"error","error":"..."}        on a connection error
// After the open line it sends every --send (text) and --send-hex (binary)
// message in order, then exits once it has --expect messages (default: when
// the connection closes). It always exits by itself, at the latest on timeout.

import WebSocket from "ws";

const args = process.argv.slice(2);
const url = args.shift();
let expect = null;
let timeout = 10;
let subprotocol = null;
const sends = [];
while (args.length > 0) {
  const flag = args.shift();
  const value = args.shift();
  if (value === undefined) throw new Error(`${flag} needs a value`);
  if (flag === "--expect") expect = Number(value);
  else if (flag === "--timeout") timeout = Number(value);
  else if (flag === "--subprotocol") subprotocol = value;
  else if (flag === "--send") sends.push(value);
  else if (flag === "--send-hex") sends.push(Buffer.from(value, "hex"));
  else throw new Error(`unknown flag ${flag}`);
}

const emit = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
let done = false;
const finish = (code) => {
  if (done) return;
  done = true;
  clearTimeout(timer);
  // Let stdout drain before leaving.
  process.stdout.write("", () => process.exit(code));
};
const timer = setTimeout(() => {
  emit({ event: "timeout" });
  finish(0);
}, timeout * 1000);

const ws = new WebSocket(url, subprotocol ? [subprotocol] : [], {
  maxPayload: 64 * 1024 * 1024,
});
let got = 0;
let extensions = "";
ws.on("upgrade", (res) => {
  extensions = res.headers["sec-websocket-extensions"] || "";
});
ws.on("open", () => {
  emit({ event: "open", subprotocol: ws.protocol || null, extensions });
  for (const m of sends) ws.send(m);
  if (expect === 0) ws.close(1000);
});
ws.on("message", (data, isBinary) => {
  if (done) return;
  if (isBinary) emit({ event: "binary", hex: Buffer.from(data).toString("hex") });
  else emit({ event: "text", data: data.toString("utf8") });
  got += 1;
  if (expect !== null && got >= expect) ws.close(1000);
});
ws.on("close", (code, reason) => {
  emit({ event: "close", code, reason: reason.toString("utf8") });
  finish(0);
});
ws.on("error", (err) => {
  emit({ event: "error", error: String(err && err.message ? err.message : err) });
  finish(0);
});
