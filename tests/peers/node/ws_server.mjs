// WebSocket echo server peer built on the third-party `ws` package, with
// permessage-deflate configured per path:
//
//   node ws_server.mjs [--idle S]
//
// Listens on 127.0.0.1 (a free port), prints "PORT <n>" when ready. Every
// path first sends one text message, the names of the extensions it agreed
// (`ws.extensions`: "permessage-deflate", or "" for none), then echoes each
// message unchanged (text as text, binary as binary):
//   /deflate        perMessageDeflate with threshold 0: every message it
//                   sends is compressed, the empty one included;
//   /small-window   the same, and it answers server_max_window_bits=9
//                   (allowed even when the client did not ask, RFC 7692
//                   7.1.2.1), so it compresses with a 512-byte window;
//   /plain          perMessageDeflate off: declines the offer.
// Stops by itself when stdin closes, or after --idle seconds (default 60)
// without a connection.

import http from "node:http";
import { WebSocketServer } from "ws";

const args = process.argv.slice(2);
let idle = 60;
while (args.length > 0) {
  const flag = args.shift();
  const value = args.shift();
  if (flag === "--idle" && value !== undefined) idle = Number(value);
  else throw new Error(`unknown argument ${flag}`);
}

const deflate = (extra) => ({ threshold: 0, ...extra });
const servers = {
  "/deflate": new WebSocketServer({ noServer: true, maxPayload: 64 << 20, perMessageDeflate: deflate({}) }),
  "/small-window": new WebSocketServer({
    noServer: true,
    maxPayload: 64 << 20,
    perMessageDeflate: deflate({ serverMaxWindowBits: 9 }),
  }),
  "/plain": new WebSocketServer({ noServer: true, maxPayload: 64 << 20, perMessageDeflate: false }),
};

let timer = null;
let open = 0;
const arm = () => {
  clearTimeout(timer);
  timer = setTimeout(() => process.exit(0), idle * 1000);
};

for (const wss of Object.values(servers)) {
  wss.on("connection", (ws) => {
    open += 1;
    clearTimeout(timer);
    ws.on("close", () => {
      open -= 1;
      if (open === 0) arm();
    });
    ws.send(ws.extensions);
    ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
}

const server = http.createServer((_req, res) => {
  res.writeHead(426).end("WebSocket only\n");
});
server.on("upgrade", (req, socket, head) => {
  const wss = servers[new URL(req.url, "http://x").pathname];
  if (wss === undefined) {
    socket.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
});
server.listen(0, "127.0.0.1", () => {
  console.log(`PORT ${server.address().port}`);
  arm();
});
process.stdin.resume();
process.stdin.on("end", () => process.exit(0));
