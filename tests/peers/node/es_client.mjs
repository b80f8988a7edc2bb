// Server-Sent Events client peer built on the third-party `eventsource`
// package (its EventSource reconnects by itself when the stream ends and
// sends the last id it saw as Last-Event-ID).
//
//   node es_client.mjs URL [--expect N] [--timeout S]
//
// Prints one JSON object per line on stdout:
//   {"event":"open"}                                 on every (re)connection
//   {"event":"message","type":T,"id":I,"data":D}     per event of type
//                                                    message, binary,
//                                                    rtwire.reset or rtwire.missed
//   {"event":"error","error":"..."}                  per error (it retries)
//   {"event":"timeout"}                              when --timeout seconds
//                                                    (default 10) pass first
// It exits once it has --expect message events (default: only on timeout).

import { EventSource } from "eventsource";

const args = process.argv.slice(2);
const url = args.shift();
let expect = null;
let timeout = 10;
while (args.length > 0) {
  const flag = args.shift();
  const value = args.shift();
  if (value === undefined) throw new Error(`${flag} needs a value`);
  if (flag === "--expect") expect = Number(value);
  else if (flag === "--timeout") timeout = Number(value);
  else throw new Error(`unknown flag ${flag}`);
}

const emit = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const es = new EventSource(url);
let got = 0;
let done = false;
const finish = () => {
  if (done) return;
  done = true;
  clearTimeout(timer);
  es.close();
  process.stdout.write("", () => process.exit(0));
};
const timer = setTimeout(() => {
  emit({ event: "timeout" });
  finish();
}, timeout * 1000);

es.addEventListener("open", () => emit({ event: "open" }));
es.addEventListener("error", (e) =>
  emit({ event: "error", error: String((e && (e.message || e.code)) || "error") }),
);
const onMessage = (e) => {
  if (done) return;
  emit({ event: "message", type: e.type, id: e.lastEventId || null, data: e.data });
  got += 1;
  if (expect !== null && got >= expect) finish();
};
for (const type of ["message", "binary", "rtwire.reset", "rtwire.missed"]) {
  es.addEventListener(type, onMessage);
}
