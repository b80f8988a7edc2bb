// rtwire.hpp: a header-only C++17 layer over the C API of rtwire
// (rtwire.h), for clients and servers.
//
// - Owning handles (Context, Options, Conn, Event, ServerOptions, Server)
//   are move-only and free themselves (std::unique_ptr with deleters).
// - Failing calls throw rtwire::Error, which carries the rtwire_result
//   code and the library's text for it (the handle's last error).
// - "Try again" results (WOULD_BLOCK, QUEUE_FULL, a wait that timed out)
//   are not errors: they come back as values (false, std::nullopt).
// - Views (std::string_view) point into the object they came from, as in
//   the C API: an Event's views live as long as the Event, a Request's as
//   long as its event (pending requests) or its connection.
//
// Guide: docs/c-api.md. Nothing here runs on rtwire's threads: events are
// taken on yours (Context::next, or Context::fd in your poll loop).
#ifndef RTWIRE_HPP
#define RTWIRE_HPP

#include <rtwire.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rtwire {

// A failed call: code() is the rtwire_result, what() says what was called
// and why (the text the library recorded on the handle).
class Error : public std::runtime_error {
  public:
    Error(rtwire_result code, const std::string &what)
        : std::runtime_error(what.empty() ? std::string(rtwire_result_message(code))
                                          : what + " (" + rtwire_result_name(code) + ")"),
          code_(code) {}
    rtwire_result code() const noexcept { return code_; }
    const char *name() const noexcept { return rtwire_result_name(code_); }

  private:
    rtwire_result code_;
};

namespace detail {

// Throws with `what` and the text `last_error(handle, ...)` copies.
template <typename H, typename F>
inline void check(rtwire_result r, const char *what, H handle, F last_error) {
    if (r != RTWIRE_RESULT_OK) {
        char why[512] = "";
        last_error(handle, why, sizeof why);
        throw Error(r, std::string(what) + (why[0] ? std::string(": ") + why : std::string()));
    }
}

inline void check(rtwire_result r, const char *what) {
    if (r != RTWIRE_RESULT_OK) {
        throw Error(r, std::string(what) + ": " + rtwire_result_message(r));
    }
}

struct OptionsDeleter {
    void operator()(rtwire_options *p) const noexcept { rtwire_options_free(p); }
};
struct ContextDeleter {
    void operator()(rtwire_context *p) const noexcept { rtwire_context_free(p); }
};
struct ConnDeleter {
    void operator()(rtwire_conn *p) const noexcept { rtwire_conn_free(p); }
};
struct EventDeleter {
    void operator()(rtwire_event *p) const noexcept { rtwire_event_free(p); }
};
struct ServerOptionsDeleter {
    void operator()(rtwire_server_options *p) const noexcept { rtwire_server_options_free(p); }
};
struct ServerDeleter {
    void operator()(rtwire_server *p) const noexcept { rtwire_server_free(p); }
};

}  // namespace detail

// The text of a view; empty when absent.
inline std::string_view view(rtwire_str s) noexcept {
    return s.data ? std::string_view(s.data, s.len) : std::string_view();
}

// The text of a view, or nullopt when absent (different from empty).
inline std::optional<std::string_view> view_opt(rtwire_str s) noexcept {
    if (s.data == nullptr) {
        return std::nullopt;
    }
    return std::string_view(s.data, s.len);
}

inline std::string_view view(rtwire_bytes b) noexcept {
    return b.data ? std::string_view(reinterpret_cast<const char *>(b.data), b.len)
                  : std::string_view();
}

inline const char *version() noexcept { return rtwire_version(); }

// Connection options (docs/options.md): named setters for the common
// ones, set(name, text) for any.
class Options {
  public:
    Options() {
        rtwire_options *p = nullptr;
        detail::check(rtwire_options_new(&p), "rtwire_options_new");
        ptr_.reset(p);
    }
    Options &set(const std::string &name, const std::string &value) {
        return done(rtwire_options_set(get(), name.c_str(), value.c_str()), "rtwire_options_set");
    }
    Options &unset(const std::string &name) {
        return done(rtwire_options_unset(get(), name.c_str()), "rtwire_options_unset");
    }
    Options &transport(const std::string &t) {
        return done(rtwire_options_set_transport(get(), t.c_str()), "rtwire_options_set_transport");
    }
    Options &subprotocol(const std::string &p) {
        return done(rtwire_options_add_subprotocol(get(), p.c_str()),
                    "rtwire_options_add_subprotocol");
    }
    Options &header(const std::string &name, const std::string &value) {
        return done(rtwire_options_add_header(get(), name.c_str(), value.c_str()),
                    "rtwire_options_add_header");
    }
    Options &open_timeout_ms(std::uint64_t ms) {
        return done(rtwire_options_set_open_timeout_ms(get(), ms),
                    "rtwire_options_set_open_timeout_ms");
    }
    Options &reconnect(bool on) {
        return done(rtwire_options_set_reconnect(get(), on), "rtwire_options_set_reconnect");
    }
    rtwire_options *get() const noexcept { return ptr_.get(); }

  private:
    Options &done(rtwire_result r, const char *what) {
        detail::check(r, what, get(), rtwire_options_last_error);
        return *this;
    }
    std::unique_ptr<rtwire_options, detail::OptionsDeleter> ptr_;
};

// What a client asked for (not owning; see rtwire_request in rtwire.h):
// the pending request of a SERVER_REQUEST event, or the request of a
// connection a server accepted.
class Request {
  public:
    explicit Request(const rtwire_request *r = nullptr) noexcept : req_(r) {}
    explicit operator bool() const noexcept { return req_ != nullptr; }
    std::uint64_t id() const noexcept { return rtwire_request_id(req_); }
    std::string_view path() const noexcept { return view(rtwire_request_path(req_)); }
    std::string_view query() const noexcept { return view(rtwire_request_query(req_)); }
    // The first value of a query parameter, decoded; nullopt when absent.
    std::optional<std::string_view> query_param(const std::string &name) const noexcept {
        return view_opt(rtwire_request_query_param(req_, name.c_str()));
    }
    // The first value of a header (any case); nullopt when absent.
    std::optional<std::string_view> header(const std::string &name) const noexcept {
        return view_opt(rtwire_request_header(req_, name.c_str()));
    }
    std::vector<std::pair<std::string_view, std::string_view>> headers() const {
        std::vector<std::pair<std::string_view, std::string_view>> out;
        std::size_t n = rtwire_request_header_count(req_);
        for (std::size_t i = 0; i < n; i++) {
            rtwire_str k, v;
            if (rtwire_request_header_at(req_, i, &k, &v) == RTWIRE_RESULT_OK) {
                out.emplace_back(view(k), view(v));
            }
        }
        return out;
    }
    std::string_view peer() const noexcept { return view(rtwire_request_peer(req_)); }
    std::optional<std::string_view> protocol() const noexcept {
        return view_opt(rtwire_request_protocol(req_));
    }
    void *user() const noexcept { return rtwire_request_user(req_); }
    bool pending() const noexcept { return rtwire_request_is_pending(req_); }
    // Answers a pending request; throws Error (CLOSED: answered already or
    // too late) on failure.
    void accept(void *user = nullptr) const {
        detail::check(rtwire_request_accept(req_, user), "rtwire_request_accept", req_,
                      rtwire_request_last_error);
    }
    void reject(std::uint16_t status, const std::string &body = std::string()) const {
        detail::check(rtwire_request_reject(req_, status, body.c_str()), "rtwire_request_reject",
                      req_, rtwire_request_last_error);
    }
    const rtwire_request *get() const noexcept { return req_; }

  private:
    const rtwire_request *req_;
};

// One event (owning). Accessors give the "nothing" value for events of
// another type, as in the C API.
class Event {
  public:
    explicit Event(rtwire_event *e) noexcept : ptr_(e) {}
    rtwire_event_type type() const noexcept { return rtwire_event_kind(get()); }
    rtwire_conn *conn() const noexcept { return rtwire_event_conn(get()); }
    void *userdata() const noexcept { return rtwire_event_userdata(get()); }
    bool is_text() const noexcept { return rtwire_event_is_text(get()); }
    // MESSAGE, SERVER_MESSAGE: the payload (text or bytes).
    std::string_view data() const noexcept { return view(rtwire_event_data(get())); }
    std::string_view text() const noexcept { return data(); }
    std::optional<std::string_view> name() const noexcept { return view_opt(rtwire_event_name(get())); }
    std::optional<std::string_view> id() const noexcept { return view_opt(rtwire_event_id(get())); }
    rtwire_transport transport() const noexcept { return rtwire_event_transport(get()); }
    std::string_view url() const noexcept { return view(rtwire_event_url(get())); }
    std::string_view protocol() const noexcept { return view(rtwire_event_protocol(get())); }
    rtwire_result error_code() const noexcept { return rtwire_event_error_code(get()); }
    std::string_view error_message() const noexcept {
        return view(rtwire_event_error_message(get()));
    }
    std::uint16_t http_status() const noexcept { return rtwire_event_http_status(get()); }
    std::uint16_t close_code() const noexcept { return rtwire_event_close_code(get()); }
    std::string_view close_reason() const noexcept {
        return view(rtwire_event_close_reason(get()));
    }
    bool close_clean() const noexcept { return rtwire_event_close_clean(get()); }
    // Server events.
    rtwire_server *server() const noexcept { return rtwire_event_server(get()); }
    std::string_view channel() const noexcept { return view(rtwire_event_channel(get())); }
    std::string_view peer() const noexcept { return view(rtwire_event_peer(get())); }
    // SERVER_REQUEST (the pending request, valid while this event lives)
    // and SERVER_ACCEPTED (the connection's request).
    Request request() const noexcept { return Request(rtwire_event_request(get())); }
    std::uint64_t connection_id() const noexcept { return rtwire_event_connection_id(get()); }
    std::uint64_t dropped() const noexcept { return rtwire_event_dropped(get()); }
    rtwire_event *get() const noexcept { return ptr_.get(); }

  private:
    std::unique_ptr<rtwire_event, detail::EventDeleter> ptr_;
};

// One connection (owning): a client's, or one a server accepted.
class Conn {
  public:
    Conn() = default;
    explicit Conn(rtwire_conn *c) noexcept : ptr_(c) {}
    // The connection a SERVER_ACCEPTED event hands over; call it once per
    // event (the Conn then owns it).
    static Conn accepted(const Event &ev) {
        if (ev.type() != RTWIRE_EVENT_TYPE_SERVER_ACCEPTED || ev.conn() == nullptr) {
            throw Error(RTWIRE_RESULT_INVALID_ARGUMENT, "Conn::accepted: not a SERVER_ACCEPTED event");
        }
        return Conn(ev.conn());
    }
    // Queues a text message; false on backpressure (queue full, or not open
    // yet with a zero timeout); throws on errors (CLOSED, ...).
    bool send(std::string_view text, std::int32_t timeout_ms = 0) {
        return sent(rtwire_conn_send_text(get(), text.data(), text.size(), timeout_ms),
                    "rtwire_conn_send_text");
    }
    bool send_binary(const void *data, std::size_t len, std::int32_t timeout_ms = 0) {
        return sent(rtwire_conn_send_binary(get(), static_cast<const std::uint8_t *>(data), len,
                                            timeout_ms),
                    "rtwire_conn_send_binary");
    }
    void close(std::uint16_t code = 1000, const std::string &reason = std::string()) {
        detail::check(rtwire_conn_close(get(), code, reason.c_str()), "rtwire_conn_close", get(),
                      rtwire_conn_last_error);
    }
    std::size_t buffered_amount() const {
        std::size_t n = 0;
        detail::check(rtwire_conn_buffered_amount(get(), &n), "rtwire_conn_buffered_amount");
        return n;
    }
    // Server connections: the server's id and the request (empty for a
    // client connection).
    std::uint64_t id() const noexcept { return rtwire_conn_id(get()); }
    Request request() const noexcept { return Request(rtwire_conn_request(get())); }
    void *userdata() const noexcept { return rtwire_conn_userdata(get()); }
    explicit operator bool() const noexcept { return ptr_ != nullptr; }
    rtwire_conn *get() const noexcept { return ptr_.get(); }
    rtwire_conn *release() noexcept { return ptr_.release(); }

  private:
    bool sent(rtwire_result r, const char *what) {
        if (r == RTWIRE_RESULT_QUEUE_FULL || r == RTWIRE_RESULT_WOULD_BLOCK) {
            return false;
        }
        detail::check(r, what, get(), rtwire_conn_last_error);
        return true;
    }
    std::unique_ptr<rtwire_conn, detail::ConnDeleter> ptr_;
};

// A context: the background thread, the event queue and its notify fd.
class Context {
  public:
    Context() {
        rtwire_context *p = nullptr;
        detail::check(rtwire_context_new(&p), "rtwire_context_new");
        ptr_.reset(p);
    }
    Conn connect(const std::string &url, const Options *opts = nullptr, void *userdata = nullptr) {
        rtwire_conn *c = nullptr;
        rtwire_result r = rtwire_context_connect(get(), url.c_str(), opts ? opts->get() : nullptr,
                                                 userdata, &c);
        detail::check(r, ("connect " + url).c_str(), get(), rtwire_context_last_error);
        return Conn(c);
    }
    // The next queued event, without waiting.
    std::optional<Event> try_next() {
        rtwire_event *e = nullptr;
        rtwire_result r = rtwire_context_next_event(get(), &e);
        if (r == RTWIRE_RESULT_OK) {
            return Event(e);
        }
        if (r != RTWIRE_RESULT_WOULD_BLOCK) {
            detail::check(r, "rtwire_context_next_event");
        }
        return std::nullopt;
    }
    // The next event, waiting up to timeout_ms (negative: no limit);
    // nullopt when none came (or on wakeup()).
    std::optional<Event> next(std::int32_t timeout_ms) {
        if (auto e = try_next()) {
            return e;
        }
        rtwire_result r = rtwire_context_wait(get(), timeout_ms);
        if (r == RTWIRE_RESULT_INVALID_HANDLE) {
            detail::check(r, "rtwire_context_wait");
        }
        return try_next();
    }
    void wakeup() { detail::check(rtwire_context_wakeup(get()), "rtwire_context_wakeup"); }
    int fd() const noexcept { return rtwire_context_fd(get()); }
    rtwire_context *get() const noexcept { return ptr_.get(); }

  private:
    std::unique_ptr<rtwire_context, detail::ContextDeleter> ptr_;
};

// Settings of an embedded server (docs/c-api.md, "The embedded server"):
// named setters for the common ones, set(name, text) for any option of the
// server schema (docs/server-options.md).
class ServerOptions {
  public:
    ServerOptions() {
        rtwire_server_options *p = nullptr;
        detail::check(rtwire_server_options_new(&p), "rtwire_server_options_new");
        ptr_.reset(p);
    }
    ServerOptions &set(const std::string &name, const std::string &value) {
        return done(rtwire_server_options_set(get(), name.c_str(), value.c_str()),
                    "rtwire_server_options_set");
    }
    ServerOptions &unset(const std::string &name) {
        return done(rtwire_server_options_unset(get(), name.c_str()), "rtwire_server_options_unset");
    }
    ServerOptions &bind(const std::string &addr) {
        return done(rtwire_server_options_set_bind(get(), addr.c_str()), "set_bind");
    }
    // A route whose clients become connections (SERVER_ACCEPTED);
    // `protocols` is a comma-separated list, empty for none.
    ServerOptions &route(const std::string &path, const std::string &protocols = std::string()) {
        return done(rtwire_server_options_add_route(get(), path.c_str(),
                                                    protocols.empty() ? nullptr : protocols.c_str()),
                    "add_route");
    }
    // Every request becomes a SERVER_REQUEST event to answer.
    ServerOptions &accept(bool on = true) {
        return done(rtwire_server_options_set_accept(get(), on), "set_accept");
    }
    ServerOptions &accept_timeout_ms(std::uint32_t ms) {
        return done(rtwire_server_options_set_accept_timeout_ms(get(), ms), "set_accept_timeout_ms");
    }
    ServerOptions &send_queue_bytes(std::size_t bytes) {
        return done(rtwire_server_options_set_send_queue_bytes(get(), bytes), "set_send_queue_bytes");
    }
    ServerOptions &slow_consumer(rtwire_slow_consumer policy) {
        return done(rtwire_server_options_set_slow_consumer(get(), static_cast<std::uint32_t>(policy)),
                    "set_slow_consumer");
    }
    ServerOptions &idle_timeout_ms(std::uint32_t ms) {
        return done(rtwire_server_options_set_idle_timeout_ms(get(), ms), "set_idle_timeout_ms");
    }
    ServerOptions &token(const std::string &t) {
        return done(rtwire_server_options_set_token(get(), t.c_str()), "set_token");
    }
    ServerOptions &history(std::size_t messages) {
        return done(rtwire_server_options_set_history(get(), messages), "set_history");
    }
    ServerOptions &cors(bool on = true) {
        return done(rtwire_server_options_set_cors(get(), on), "set_cors");
    }
    ServerOptions &events(bool on = true) {
        return done(rtwire_server_options_set_events(get(), on), "set_events");
    }
    ServerOptions &client_messages(bool deliver = true) {
        return done(rtwire_server_options_set_client_messages(get(), deliver), "set_client_messages");
    }
    ServerOptions &event_queue(std::size_t events) {
        return done(rtwire_server_options_set_event_queue(get(), events), "set_event_queue");
    }
    ServerOptions &ping_interval_ms(std::uint32_t ms) {
        return done(rtwire_server_options_set_ping_interval_ms(get(), ms), "set_ping_interval_ms");
    }
    rtwire_server_options *get() const noexcept { return ptr_.get(); }

  private:
    ServerOptions &done(rtwire_result r, const char *what) {
        detail::check(r, what, get(), rtwire_server_options_last_error);
        return *this;
    }
    std::unique_ptr<rtwire_server_options, detail::ServerOptionsDeleter> ptr_;
};

using Delivery = rtwire_delivery;

// A running embedded server (owning; freeing it stops it in the
// background, stop() stops it and waits).
class Server {
  public:
    explicit Server(Context &ctx, const ServerOptions *opts = nullptr) {
        rtwire_server *s = nullptr;
        detail::check(rtwire_server_start(ctx.get(), opts ? opts->get() : nullptr, &s),
                      "rtwire_server_start", ctx.get(), rtwire_context_last_error);
        ptr_.reset(s);
    }
    Server(Context &ctx, const ServerOptions &opts) : Server(ctx, &opts) {}
    std::uint16_t port() const noexcept { return rtwire_server_port(get()); }
    std::string base_url() const {
        char buf[256] = "";
        rtwire_server_base_url(get(), buf, sizeof buf);
        return buf;
    }
    // Publishes to a channel; returns the message id.
    std::string publish(const std::string &channel, std::string_view text) {
        char id[RTWIRE_SERVER_ID_MAX] = "";
        done(rtwire_server_publish_text(get(), channel.c_str(), text.data(), text.size(), id,
                                        sizeof id),
             "rtwire_server_publish_text");
        return id;
    }
    // Rooms, by connection id (Conn::id(), Event::connection_id()).
    bool join(std::uint64_t id, const std::string &room) {
        bool added = false;
        done(rtwire_server_join(get(), id, room.c_str(), &added), "rtwire_server_join");
        return added;
    }
    bool leave(std::uint64_t id, const std::string &room) {
        bool was = false;
        done(rtwire_server_leave(get(), id, room.c_str(), &was), "rtwire_server_leave");
        return was;
    }
    // To the members of `room` but the connections of `except`.
    Delivery to(const std::string &room, std::string_view text,
                const std::vector<std::uint64_t> &except = {}) {
        return broadcast(room.c_str(), text, except);
    }
    // To every route connection but those of `except`.
    Delivery all(std::string_view text, const std::vector<std::uint64_t> &except = {}) {
        return broadcast(nullptr, text, except);
    }
    // To one connection, without waiting; false when its queue is full.
    bool send(std::uint64_t id, std::string_view text) {
        rtwire_result r = rtwire_server_send_text(get(), id, text.data(), text.size());
        if (r == RTWIRE_RESULT_QUEUE_FULL) {
            return false;
        }
        done(r, "rtwire_server_send_text");
        return true;
    }
    std::size_t member_count(const std::string &room) const {
        std::size_t n = 0;
        done(rtwire_server_member_count(get(), room.c_str(), &n), "rtwire_server_member_count");
        return n;
    }
    std::vector<std::uint64_t> members(const std::string &room) const {
        std::vector<std::uint64_t> ids(member_count(room));
        for (int tries = 0; tries < 8; tries++) {
            std::size_t n = 0;
            done(rtwire_server_members(get(), room.c_str(), ids.empty() ? nullptr : ids.data(),
                                       ids.size(), &n),
                 "rtwire_server_members");
            if (n <= ids.size()) {
                ids.resize(n);
                return ids;
            }
            ids.resize(n);
        }
        return ids;
    }
    std::vector<std::string> rooms_of(std::uint64_t id) const {
        std::size_t n = 0;
        done(rtwire_server_room_count(get(), id, &n), "rtwire_server_room_count");
        std::vector<std::string> out;
        for (std::size_t i = 0; i < n; i++) {
            std::size_t len = 0;
            if (rtwire_server_room_name(get(), id, i, nullptr, 0, &len) != RTWIRE_RESULT_OK) {
                break;
            }
            std::string name(len + 1, '\0');
            if (rtwire_server_room_name(get(), id, i, &name[0], name.size(), &len) ==
                RTWIRE_RESULT_OK) {
                name.resize(len);
                out.push_back(std::move(name));
            }
        }
        return out;
    }
    // Stops gracefully (clients get 1001), waiting at most 5 s.
    void stop() { done(rtwire_server_stop(get()), "rtwire_server_stop"); }
    rtwire_server *get() const noexcept { return ptr_.get(); }

  private:
    Delivery broadcast(const char *room, std::string_view text,
                       const std::vector<std::uint64_t> &except) {
        Delivery d{0, 0, 0};
        done(rtwire_server_broadcast_text(get(), room, except.empty() ? nullptr : except.data(),
                                          except.size(), text.data(), text.size(), &d),
             "rtwire_server_broadcast_text");
        return d;
    }
    void done(rtwire_result r, const char *what) const {
        detail::check(r, what, get(), rtwire_server_last_error);
    }
    std::unique_ptr<rtwire_server, detail::ServerDeleter> ptr_;
};

}  // namespace rtwire

#endif
