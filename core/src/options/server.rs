//! The server option schema: every setting of
//! [`ServerOptions`](crate::server::ServerOptions) that is a value (not the
//! routes, the acceptance hook or the pages, which are code), declared once
//! with its name in each language, its kind, its documentation and its
//! rules.
//!
//! It is the server's counterpart of [`SCHEMA`](super::SCHEMA), made of the
//! same [`Spec`]s and checked by the same code: the Python keyword
//! arguments of `rtwire.serve`, the Node options of `serve()`, the C
//! `rtwire_server_options_set_*` setters and the `rtwire serve` flags all
//! convert their values into a [`Value`] and call [`ServerOptions::set`],
//! so every language accepts and refuses the same values with the same
//! [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument)
//! message.
//!
//! ```
//! use rtwire::options::{Value, SERVER_SCHEMA};
//! use rtwire::server::ServerOptions;
//! let mut o = ServerOptions::new();
//! o.set("history", Value::Int(50)).unwrap();
//! o.set("idle_timeout", Value::Seconds(30.0)).unwrap();
//! o.set_text("max_message_size", "1MiB").unwrap();
//! assert_eq!(o.history, 50);
//! assert_eq!(o.max_message_size, 1 << 20);
//! let e = o.set("history", Value::Int(0)).unwrap_err();
//! assert_eq!(e.kind(), rtwire::ErrorKind::InvalidArgument);
//! assert_eq!(e.message(), "history must be at least 1 and at most 1073741824, got 0");
//! // The default of every option, as a value:
//! let spec = SERVER_SCHEMA.iter().find(|s| s.name == "heartbeat").unwrap();
//! assert_eq!(spec.default_value(), Value::Duration(std::time::Duration::from_secs(15)));
//! ```

use std::net::SocketAddr;

use crate::error::Error;
use crate::server::{ServerOptions, SlowConsumer};

use super::schema::{find, invalid, opt, set_in, set_text_in, Field};
use super::{Kind, Spec, TextRule, Value};

impl Field for SocketAddr {
    fn to_value(&self) -> Value {
        Value::Text(self.to_string())
    }
    fn from_value(v: Value) -> Self {
        match v {
            Value::Text(s) => s
                .parse()
                .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0))),
            _ => SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }
}

impl Field for Option<usize> {
    fn to_value(&self) -> Value {
        self.map_or(Value::Off, |n| Value::Int(n as i64))
    }
    fn from_value(v: Value) -> Self {
        match v {
            Value::Int(n) => Some(n as usize),
            _ => None,
        }
    }
}

impl Field for Option<Vec<String>> {
    fn to_value(&self) -> Value {
        self.clone().map_or(Value::Off, Value::List)
    }
    fn from_value(v: Value) -> Self {
        match v {
            Value::List(l) => Some(l),
            _ => None,
        }
    }
}

impl Field for SlowConsumer {
    fn to_value(&self) -> Value {
        Value::Text(self.as_str().into())
    }
    fn from_value(v: Value) -> Self {
        match v {
            Value::Text(s) if s == "skip" => SlowConsumer::Skip,
            _ => SlowConsumer::Disconnect,
        }
    }
}

impl SlowConsumer {
    /// The words of the policies, as the server schema takes them.
    pub const NAMES: &'static [&'static str] = &["disconnect", "skip"];

    /// The policy's word: `disconnect` or `skip`.
    pub fn as_str(self) -> &'static str {
        match self {
            SlowConsumer::Disconnect => "disconnect",
            SlowConsumer::Skip => "skip",
        }
    }
}

const SECS: Kind = Kind::Duration { zero: false };
/// No upper bound but the platform's.
const MAX_COUNT: u64 = isize::MAX as u64;

/// Every server option, in the order a binding applies them.
pub static SERVER_SCHEMA: &[Spec<ServerOptions>] = &[
    opt!("bind", bind, Kind::Text(TextRule::SocketAddr), None,
        py "", node "", cli "bind", c "bind",
        "The address and port to listen on (port 0 picks a free one). Python and Node take `host` (an IP address, or a name resolved then) and `port` instead."),
    opt!("history", history, Kind::Count { min: 1, max: 1 << 30 }, None,
        py "history", node "history", cli "history", c "history",
        "Messages kept per channel for resuming clients."),
    opt!("client_queue", client_queue, Kind::Count { min: 1, max: 1 << 20 }, None,
        py "client_queue", node "clientQueue", cli "client-queue", c "client_queue",
        "How far (in messages) a subscriber may fall behind the live stream before it is cut off (WebSocket: close 1008; SSE and streaming: the response ends and the client resumes from history)."),
    opt!("token", token, Kind::Text(TextRule::Secret), Some("no token"),
        py "token", node "token", cli "token", c "token",
        "A bearer token every channel request must carry (`Authorization: Bearer T` or `?token=T`), compared in constant time."),
    opt!("tls_cert", tls_cert, Kind::Path, Some("plain TCP"),
        py "tls_cert", node "tlsCert", cli "tls-cert", c "tls_cert",
        "PEM file of the certificate chain: serve TLS (needs `tls_key`)."),
    opt!("tls_key", tls_key, Kind::Path, Some("plain TCP"),
        py "tls_key", node "tlsKey", cli "tls-key", c "tls_key",
        "PEM file of the private key for `tls_cert`."),
    opt!("allowed_origins", allowed_origins, Kind::Texts, Some("any origin, including none"),
        py "allowed_origins", node "allowedOrigins", cli "allow-origin", c "allowed_origin",
        "WebSocket `Origin` values allowed (exact match); others are refused with 403."),
    opt!("cors", cors, Kind::Bool, None,
        py "cors", node "cors", cli "cors", c "cors",
        "Answer CORS preflights and add `Access-Control-Allow-Origin` for browser clients on other origins."),
    opt!("ping_interval", ping_interval, SECS, None,
        py "ping_interval", node "pingInterval", cli "ping-interval", c "ping_interval",
        "WebSocket ping interval; a client silent for this long after a ping is disconnected, and so is one that does not take a write within this time."),
    opt!("heartbeat", heartbeat, SECS, None,
        py "heartbeat", node "heartbeat", cli "heartbeat", c "heartbeat",
        "SSE comment / NDJSON blank-line heartbeat on quiet streams, so clients' idle timeouts can tell a quiet stream from a dead one."),
    opt!("long_poll_hold", long_poll_hold, SECS, None,
        py "long_poll_hold", node "longPollHold", cli "long-poll-hold", c "long_poll_hold",
        "Longest a long poll is held."),
    opt!("max_message_size", max_message_size, Kind::Bytes { min: 1 }, None,
        py "max_message_size", node "maxMessageSize", cli "max-message-size", c "max_message_size",
        "Largest message accepted (WebSocket or publish body)."),
    opt!("permessage_deflate", permessage_deflate, Kind::Bool, None,
        py "permessage_deflate", node "permessageDeflate", cli "permessage-deflate", c "permessage_deflate",
        "Accept permessage-deflate (RFC 7692) from WebSocket clients that offer it, answered without context takeover both ways: no memory per connection, and a broadcast is compressed once."),
    opt!("deflate_threshold", deflate_threshold, Kind::Bytes { min: 0 }, None,
        py "deflate_threshold", node "deflateThreshold", cli "deflate-threshold", c "deflate_threshold",
        "With permessage-deflate: messages under this many bytes are sent uncompressed."),
    opt!("max_headers", max_headers, Kind::Count { min: 1, max: 1 << 16 }, None,
        py "max_headers", node "maxHeaders", cli "max-headers", c "max_headers",
        "Most request headers (more: 431)."),
    opt!("header_timeout", header_timeout, SECS, None,
        py "header_timeout", node "headerTimeout", cli "header-timeout", c "header_timeout",
        "Time allowed for a request's headers (slow-header defence)."),
    opt!("max_connections", max_connections, Kind::Count { min: 1, max: MAX_COUNT }, None,
        py "max_connections", node "maxConnections", cli "max-connections", c "max_connections",
        "Most connections open at once (TCP connections and WebSocket sessions); past it a new connection is answered `503 Service Unavailable` with `Retry-After: 1` (dropped, under TLS) and closed."),
    opt!("max_per_ip", max_per_ip, Kind::Count { min: 1, max: MAX_COUNT }, Some("no limit"),
        py "max_per_ip", node "maxPerIp", cli "max-per-ip", c "max_per_ip",
        "Most connections open at once from one IP address (behind a reverse proxy every client has the proxy's address). Past it: as for `max_connections`."),
    opt!("send_queue_bytes", send_queue_bytes, Kind::Bytes { min: 1 }, None,
        py "send_queue_bytes", node "sendQueueBytes", cli "send-queue-bytes", c "send_queue_bytes",
        "The bound in bytes of each application connection's outgoing queue: `send` waits while more is unsent, `try_send` hands the message back, and a broadcast treats the connection as a slow consumer."),
    opt!("slow_consumer", slow_consumer, Kind::Choice(SlowConsumer::NAMES), None,
        py "slow_consumer", node "slowConsumer", cli "slow-consumer", c "slow_consumer",
        "What a broadcast does with a slow consumer: `disconnect` (close it with 1008) or `skip` (leave it out of that message)."),
    opt!("idle_timeout", idle_timeout, SECS, Some("no limit"),
        py "idle_timeout", node "idleTimeout", cli "idle-timeout", c "idle_timeout",
        "How long an application connection may pass without a message in either direction (pings do not count) before it is closed with 1001 \"idle timeout\", over any transport."),
];

/// The server option with this canonical name.
pub fn server_spec(name: &str) -> Option<&'static Spec<ServerOptions>> {
    find(SERVER_SCHEMA, name).ok()
}

impl ServerOptions {
    /// Sets the server option with canonical name `name` (see
    /// [`SERVER_SCHEMA`]) from a binding's value, applying the schema's
    /// rules, as [`Options::set`](crate::Options::set) does for the
    /// connection options.
    ///
    /// ```
    /// use rtwire::options::Value;
    /// use rtwire::server::{ServerOptions, SlowConsumer};
    /// let mut o = ServerOptions::new();
    /// o.set("slow_consumer", Value::Text("skip".into())).unwrap();
    /// o.set("max_per_ip", Value::Int(8)).unwrap();
    /// assert_eq!(o.slow_consumer, SlowConsumer::Skip);
    /// assert_eq!(o.max_per_ip, Some(8));
    /// assert!(o.set("idle_timeout", Value::Millis(0.0)).is_err());
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument)
    /// for an unknown name, a value of the wrong shape, or one out of the
    /// option's range; the message names the option. Rules that tie several
    /// options together are checked by [`ServerOptions::validate`].
    pub fn set(&mut self, name: &str, value: Value) -> Result<(), Error> {
        set_in(SERVER_SCHEMA, self, name, value)
    }

    /// Sets a server option from text, as a command line gives it, with the
    /// rules of [`Options::set_text`](crate::Options::set_text): sizes with
    /// an optional `KiB`/`MiB`/`GiB` suffix, durations with a unit
    /// (`250ms`, `10s`, `2m`) or a number of seconds, `off` or `none` where
    /// the option can be off, and each call of a list option
    /// (`allowed_origins`) adds one item.
    ///
    /// # Errors
    /// As [`ServerOptions::set`], and for text that is not of the option's
    /// kind.
    pub fn set_text(&mut self, name: &str, text: &str) -> Result<(), Error> {
        set_text_in(SERVER_SCHEMA, self, name, text)
    }

    /// The current value of server option `name`, or `None` for an unknown
    /// name.
    pub fn get(&self, name: &str) -> Option<Value> {
        server_spec(name).map(|s| s.get(self))
    }

    /// Checks the rules between options: `tls_cert` and `tls_key` go
    /// together. [`Server::start`](crate::server::Server::start) checks
    /// them too; a binding calls this to refuse them before it starts.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument)
    /// naming the options.
    pub fn validate(&self) -> Result<(), Error> {
        for s in SERVER_SCHEMA {
            super::schema::check_current(s, self)?;
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(invalid("tls_cert and tls_key go together".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::ErrorKind;

    #[test]
    fn every_option_round_trips_its_default() {
        let d = ServerOptions::default();
        for s in SERVER_SCHEMA {
            let v = d.get(s.name).unwrap();
            let mut o = ServerOptions::default();
            o.set(s.name, v.clone())
                .unwrap_or_else(|e| panic!("{}: default refused: {e}", s.name));
            assert_eq!(o.get(s.name).unwrap(), v, "{}", s.name);
        }
        d.validate().unwrap();
    }

    #[test]
    fn names_are_unique_per_language() {
        let mut seen = std::collections::HashSet::new();
        for s in SERVER_SCHEMA {
            assert!(seen.insert(s.name), "duplicate {}", s.name);
            assert!(!s.doc.is_empty() && s.doc.ends_with('.'), "{} doc", s.name);
        }
        for lang in [
            |s: &Spec<ServerOptions>| s.c,
            |s: &Spec<ServerOptions>| s.cli,
            |s: &Spec<ServerOptions>| s.python,
            |s: &Spec<ServerOptions>| s.node,
        ] {
            let mut seen = std::collections::HashSet::new();
            for s in SERVER_SCHEMA {
                let n = lang(s);
                assert!(n.is_empty() || seen.insert(n), "duplicate {n}");
            }
        }
    }

    fn refused(o: &mut ServerOptions, name: &str, v: Value) -> String {
        let e = o
            .set(name, v.clone())
            .expect_err(&format!("{name} = {v:?}"));
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(e.message().contains(name), "{e}");
        e.message().to_string()
    }

    #[test]
    fn ranges_and_types_are_checked() {
        let mut o = ServerOptions::new();
        for name in ["history", "client_queue", "max_headers", "max_connections"] {
            refused(&mut o, name, Value::Int(0));
            refused(&mut o, name, Value::Float(1.5));
            refused(&mut o, name, Value::Text("1".into()));
            refused(&mut o, name, Value::Off);
        }
        refused(&mut o, "client_queue", Value::Int((1 << 20) + 1));
        o.set("client_queue", Value::Int(1 << 20)).unwrap();
        refused(&mut o, "max_headers", Value::Int((1 << 16) + 1));
        for name in ["max_message_size", "send_queue_bytes"] {
            refused(&mut o, name, Value::Int(0));
            refused(&mut o, name, Value::Float(f64::NAN));
        }
        for name in [
            "ping_interval",
            "heartbeat",
            "long_poll_hold",
            "header_timeout",
        ] {
            refused(&mut o, name, Value::Seconds(0.0));
            refused(&mut o, name, Value::Millis(-1.0));
            refused(&mut o, name, Value::Millis(f64::INFINITY));
            refused(&mut o, name, Value::Off);
        }
        o.set("heartbeat", Value::Millis(250.0)).unwrap();
        assert_eq!(o.heartbeat, Duration::from_millis(250));
        refused(&mut o, "idle_timeout", Value::Seconds(0.0));
        o.set("idle_timeout", Value::Seconds(1.5)).unwrap();
        assert_eq!(o.idle_timeout, Some(Duration::from_millis(1500)));
        o.set("idle_timeout", Value::Off).unwrap();
        assert_eq!(o.idle_timeout, None);
        refused(&mut o, "max_per_ip", Value::Int(0));
        o.set("max_per_ip", Value::Int(3)).unwrap();
        assert_eq!(o.max_per_ip, Some(3));
        o.set("max_per_ip", Value::Off).unwrap();
        assert_eq!(o.max_per_ip, None);

        let msg = refused(&mut o, "token", Value::Text(String::new()));
        assert_eq!(
            msg,
            "token must be non-empty, without spaces or control characters"
        );
        refused(&mut o, "token", Value::Text("a b".into()));
        // The secret is not repeated.
        let msg = refused(&mut o, "token", Value::Text("s3cret\n".into()));
        assert!(!msg.contains("s3cret"), "{msg}");
        refused(&mut o, "token", Value::Int(5));
        o.set("token", Value::Text("t".into())).unwrap();
        assert_eq!(o.token.as_deref(), Some("t"));

        refused(&mut o, "slow_consumer", Value::Text("drop".into()));
        o.set("slow_consumer", Value::Text("SKIP".into())).unwrap();
        assert_eq!(o.slow_consumer, SlowConsumer::Skip);

        refused(&mut o, "allowed_origins", Value::Text("https://a".into()));
        refused(&mut o, "allowed_origins", Value::List(vec![String::new()]));
        refused(&mut o, "allowed_origins", Value::List(vec!["a\nb".into()]));
        o.set("allowed_origins", Value::List(vec!["https://a".into()]))
            .unwrap();
        assert_eq!(o.allowed_origins, Some(vec!["https://a".to_string()]));

        refused(&mut o, "tls_cert", Value::Text(String::new()));
        refused(&mut o, "cors", Value::Int(1));
        refused(&mut o, "bind", Value::Text("localhost:80".into()));
        refused(&mut o, "bind", Value::Text("127.0.0.1".into()));
        o.set("bind", Value::Text("[::1]:8080".into())).unwrap();
        assert_eq!(o.bind, "[::1]:8080".parse().unwrap());

        let e = o.set("nope", Value::Bool(true)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert_eq!(e.message(), "unknown option \"nope\"");
        // Connection option names are not server options.
        assert!(o.set("open_timeout", Value::Seconds(1.0)).is_err());
    }

    #[test]
    fn the_same_checks_as_the_connection_options() {
        // One checking code: a size refused the same way in both schemas.
        let mut c = crate::Options::new();
        let mut s = ServerOptions::new();
        let ce = c
            .set("limits.max_message_size", Value::Float(1.5))
            .unwrap_err();
        let se = s.set("max_message_size", Value::Float(1.5)).unwrap_err();
        assert_eq!(
            ce.message()
                .replace("limits.max_message_size", "max_message_size"),
            se.message()
        );
    }

    #[test]
    fn text_values_parse() {
        let mut o = ServerOptions::new();
        o.set_text("max_message_size", "64KiB").unwrap();
        assert_eq!(o.max_message_size, 64 << 10);
        o.set_text("idle_timeout", "250ms").unwrap();
        assert_eq!(o.idle_timeout, Some(Duration::from_millis(250)));
        o.set_text("idle_timeout", "off").unwrap();
        assert_eq!(o.idle_timeout, None);
        o.set_text("ping_interval", "2").unwrap();
        assert_eq!(o.ping_interval, Duration::from_secs(2));
        o.set_text("allowed_origins", "https://a").unwrap();
        o.set_text("allowed_origins", "https://b").unwrap();
        assert_eq!(
            o.allowed_origins,
            Some(vec!["https://a".to_string(), "https://b".to_string()])
        );
        o.set_text("cors", "true").unwrap();
        assert!(o.cors);
        o.set_text("bind", "0.0.0.0:9000").unwrap();
        assert_eq!(o.bind.port(), 9000);
        assert!(o.set_text("history", "many").is_err());
        assert!(o.set_text("cors", "maybe").is_err());
    }

    #[test]
    fn tls_files_go_together() {
        let mut o = ServerOptions::new();
        o.set("tls_cert", Value::Text("cert.pem".into())).unwrap();
        let e = o.validate().unwrap_err();
        assert_eq!(e.message(), "tls_cert and tls_key go together");
        o.set("tls_key", Value::Text("key.pem".into())).unwrap();
        o.validate().unwrap();
    }
}
