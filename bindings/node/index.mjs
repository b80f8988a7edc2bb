// ESM entry: the same objects as the CommonJS entry.
import rtwire from './index.js'

export const {
  connect,
  Connection,
  RtwireError,
  errorCodes,
  WebSocket,
  EventSource,
  CloseEvent,
  ErrorEvent,
  serve,
  Server,
  ServerConnection,
  Broadcast,
  version,
  coreVersion
} = rtwire
export default rtwire
