// The reference Engine.IO and Socket.IO codecs (engine.io-parser,
// socket.io-parser) as a peer for core/tests/socketio_codec_peers.rs.
//
// Reads one JSON object from stdin and writes one JSON object to stdout,
// with an answer for each key it was given:
//
//   sio_decode:  [{text, attachments: [base64]}]  -> [packet]       (Decoder)
//   sio_encode:  [packet]                         -> [{text, attachments}] (Encoder)
//   sio_invalid: [text]                           -> [error message or null]
//   eio_decode:  [{ws} | {ws_bin} | {payload}]    -> [packet | [packet]]
//   eio_encode:  [packet]                         -> {ws: [{ws} | {ws_bin}], payload}
//
// A Socket.IO packet is {type, nsp, id?, data?} with every binary written as
// {"$bin": base64}; an Engine.IO packet is {type, data?} or {type, bin}.
import * as eio from "engine.io-parser";
import { Decoder, Encoder } from "socket.io-parser";

setTimeout(() => {
  process.stderr.write("socketio_codec.js: no input within 10 s\n");
  process.exit(2);
}, 10000).unref();

const toCanonical = (v) => {
  if (Buffer.isBuffer(v)) return { $bin: v.toString("base64") };
  if (v instanceof ArrayBuffer) return { $bin: Buffer.from(v).toString("base64") };
  if (Array.isArray(v)) return v.map(toCanonical);
  if (v !== null && typeof v === "object") {
    const o = {};
    for (const k of Object.keys(v)) o[k] = toCanonical(v[k]);
    return o;
  }
  return v;
};

const fromCanonical = (v) => {
  if (Array.isArray(v)) return v.map(fromCanonical);
  if (v !== null && typeof v === "object") {
    if (typeof v.$bin === "string" && Object.keys(v).length === 1) {
      return Buffer.from(v.$bin, "base64");
    }
    const o = {};
    for (const k of Object.keys(v)) o[k] = fromCanonical(v[k]);
    return o;
  }
  return v;
};

const sioPacket = (p) => {
  const out = { type: p.type, nsp: p.nsp };
  if (p.id !== undefined) out.id = p.id;
  if (p.data !== undefined) out.data = toCanonical(p.data);
  return out;
};

const sioDecode = ({ text, attachments }) => {
  const decoder = new Decoder({ maxAttachments: 1000 });
  const got = [];
  decoder.on("decoded", (p) => got.push(sioPacket(p)));
  decoder.add(text);
  for (const a of attachments) decoder.add(Buffer.from(a, "base64"));
  if (got.length !== 1) throw new Error(`${text}: ${got.length} packets decoded`);
  return got[0];
};

const sioEncode = (p) => {
  const packet = { type: p.type, nsp: p.nsp };
  if (p.id !== undefined) packet.id = p.id;
  if (p.data !== undefined) packet.data = fromCanonical(p.data);
  const [text, ...buffers] = new Encoder().encode(packet);
  return { text, attachments: buffers.map((b) => Buffer.from(b).toString("base64")) };
};

const sioInvalid = (text) => {
  try {
    const decoder = new Decoder();
    decoder.on("decoded", () => {});
    decoder.add(text);
    return null;
  } catch (e) {
    return String(e.message);
  }
};

const eioPacket = (p) => {
  const out = { type: p.type };
  if (Buffer.isBuffer(p.data) || p.data instanceof ArrayBuffer) {
    out.bin = Buffer.from(p.data).toString("base64");
  } else if (p.data !== undefined && p.data !== "") {
    out.data = p.data;
  }
  return out;
};

const eioDecode = (item) => {
  if (item.ws !== undefined) return eioPacket(eio.decodePacket(item.ws, "nodebuffer"));
  if (item.ws_bin !== undefined) {
    return eioPacket(eio.decodePacket(Buffer.from(item.ws_bin, "base64"), "nodebuffer"));
  }
  return eio.decodePayload(item.payload, "nodebuffer").map(eioPacket);
};

const eioInput = (p) =>
  p.bin !== undefined ? { type: p.type, data: Buffer.from(p.bin, "base64") } : { type: p.type, data: p.data };

const eioEncode = (packets) => {
  const ws = packets.map((p) => {
    let frame;
    eio.encodePacket(eioInput(p), true, (f) => (frame = f));
    return typeof frame === "string" ? { ws: frame } : { ws_bin: Buffer.from(frame).toString("base64") };
  });
  let payload;
  eio.encodePayload(packets.map(eioInput), (s) => (payload = s));
  return { ws, payload };
};

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (c) => (input += c));
process.stdin.on("end", () => {
  const req = JSON.parse(input);
  const res = {};
  if (req.sio_decode) res.sio_decode = req.sio_decode.map(sioDecode);
  if (req.sio_encode) res.sio_encode = req.sio_encode.map(sioEncode);
  if (req.sio_invalid) res.sio_invalid = req.sio_invalid.map(sioInvalid);
  if (req.eio_decode) res.eio_decode = req.eio_decode.map(eioDecode);
  if (req.eio_encode) res.eio_encode = eioEncode(req.eio_encode);
  process.stdout.write(JSON.stringify(res) + "\n");
});
