// A small RAII layer over the rtwire C API (header-only, C++17).
//
// - Handles are std::unique_ptr with deleters: Context, Options, Conn and
//   Event free themselves.
// - Failing calls throw rtwire::Error, which carries the rtwire_result code.
// - "Try again" results (WOULD_BLOCK, QUEUE_FULL, TIMEOUT from wait) are not
//   errors: they come back as values.
#ifndef RTWIRE_HPP
#define RTWIRE_HPP

#include <rtwire.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace rtwire {

class Error : public std::runtime_error {
  public:
    Error(rtwire_result code, const std::string &what)
        : std::runtime_error(what + ": " + rtwire_result_message(code)), code_(code) {}
    rtwire_result code() const noexcept { return code_; }

  private:
    rtwire_result code_;
};

inline void check(rtwire_result r, const char *what) {
    if (r != RTWIRE_RESULT_OK) {
        throw Error(r, what);
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

inline std::string_view view(rtwire_str s) {
    return s.data ? std::string_view(s.data, s.len) : std::string_view();
}

class Options {
  public:
    Options() {
        rtwire_options *p = nullptr;
        check(rtwire_options_new(&p), "rtwire_options_new");
        ptr_.reset(p);
    }
    Options &subprotocol(const std::string &p) {
        check_set(rtwire_options_add_subprotocol(get(), p.c_str()));
        return *this;
    }
    Options &header(const std::string &name, const std::string &value) {
        check_set(rtwire_options_add_header(get(), name.c_str(), value.c_str()));
        return *this;
    }
    Options &open_timeout_ms(std::uint64_t ms) {
        check_set(rtwire_options_set_open_timeout_ms(get(), ms));
        return *this;
    }
    // Any option by its canonical name, from text ("limits.max_message_size",
    // "64KiB"); see docs/options.md.
    Options &set(const std::string &name, const std::string &value) {
        check_set(rtwire_options_set(get(), name.c_str(), value.c_str()));
        return *this;
    }
    Options &reconnect(bool on) {
        check_set(rtwire_options_set_reconnect(get(), on));
        return *this;
    }
    rtwire_options *get() const noexcept { return ptr_.get(); }

  private:
    // Throws with the reason recorded on the options (it names the option).
    void check_set(rtwire_result r) const {
        if (r != RTWIRE_RESULT_OK) {
            char why[256] = "";
            rtwire_options_last_error(get(), why, sizeof why);
            throw Error(r, why);
        }
    }
    std::unique_ptr<rtwire_options, OptionsDeleter> ptr_;
};

class Event {
  public:
    explicit Event(rtwire_event *e) : ptr_(e) {}
    rtwire_event_type type() const noexcept { return rtwire_event_kind(ptr_.get()); }
    rtwire_conn *conn() const noexcept { return rtwire_event_conn(ptr_.get()); }
    void *userdata() const noexcept { return rtwire_event_userdata(ptr_.get()); }
    bool is_text() const noexcept { return rtwire_event_is_text(ptr_.get()); }
    std::string_view text() const noexcept {
        rtwire_bytes b = rtwire_event_data(ptr_.get());
        return b.data ? std::string_view(reinterpret_cast<const char *>(b.data), b.len)
                      : std::string_view();
    }
    std::string_view error_message() const noexcept {
        return view(rtwire_event_error_message(ptr_.get()));
    }
    std::uint16_t close_code() const noexcept { return rtwire_event_close_code(ptr_.get()); }
    std::string_view close_reason() const noexcept {
        return view(rtwire_event_close_reason(ptr_.get()));
    }
    std::string_view protocol() const noexcept { return view(rtwire_event_protocol(ptr_.get())); }

  private:
    std::unique_ptr<rtwire_event, EventDeleter> ptr_;
};

class Conn {
  public:
    Conn() = default;
    explicit Conn(rtwire_conn *c) : ptr_(c) {}
    // Returns false on backpressure (queue full, or not open yet with a
    // zero timeout); throws on errors.
    bool send(std::string_view text, std::int32_t timeout_ms = 0) {
        rtwire_result r = rtwire_conn_send_text(get(), text.data(), text.size(), timeout_ms);
        if (r == RTWIRE_RESULT_QUEUE_FULL || r == RTWIRE_RESULT_WOULD_BLOCK) {
            return false;
        }
        check(r, "rtwire_conn_send_text");
        return true;
    }
    void close(std::uint16_t code = 1000, const char *reason = nullptr) {
        check(rtwire_conn_close(get(), code, reason), "rtwire_conn_close");
    }
    rtwire_conn *get() const noexcept { return ptr_.get(); }

  private:
    std::unique_ptr<rtwire_conn, ConnDeleter> ptr_;
};

class Context {
  public:
    Context() {
        rtwire_context *p = nullptr;
        check(rtwire_context_new(&p), "rtwire_context_new");
        ptr_.reset(p);
    }
    Conn connect(const std::string &url, const Options *opts = nullptr,
                 void *userdata = nullptr) {
        rtwire_conn *c = nullptr;
        rtwire_result r = rtwire_context_connect(get(), url.c_str(), opts ? opts->get() : nullptr,
                                                 userdata, &c);
        if (r != RTWIRE_RESULT_OK) {
            char why[256] = {0};
            rtwire_context_last_error(get(), why, sizeof why);
            throw Error(r, "connect " + url + ": " + why);
        }
        return Conn(c);
    }
    // The next event, waiting up to timeout_ms; nullopt when none came.
    std::optional<Event> next(std::int32_t timeout_ms) {
        rtwire_event *e = nullptr;
        if (rtwire_context_next_event(get(), &e) == RTWIRE_RESULT_OK) {
            return Event(e);
        }
        rtwire_result r = rtwire_context_wait(get(), timeout_ms);
        if (r == RTWIRE_RESULT_INVALID_HANDLE) {
            throw Error(r, "rtwire_context_wait");
        }
        if (rtwire_context_next_event(get(), &e) == RTWIRE_RESULT_OK) {
            return Event(e);
        }
        return std::nullopt;
    }
    int fd() const noexcept { return rtwire_context_fd(get()); }
    rtwire_context *get() const noexcept { return ptr_.get(); }

  private:
    std::unique_ptr<rtwire_context, ContextDeleter> ptr_;
};

}  // namespace rtwire

#endif
