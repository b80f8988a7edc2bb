// A chat server with rooms and token authentication on rtwire's
// application server through the C++ layer (include/rtwire.hpp), speaking
// the chat protocol every rtwire chat example shares (examples/README.md).
//
//   c++ -std=c++17 chat_server.cpp $(pkg-config --cflags --libs rtwire) -o chat_server
//   ./chat_server [PORT]
//
// Clients open ws://127.0.0.1:PORT/chat?room=lobby&name=ada&token=s3cret
// (the token comes from CHAT_TOKEN, default s3cret; `Authorization: Bearer`
// works too). It prints `PORT <n>` once it listens and serves until SIGTERM
// or Ctrl-C (300 s at most); clients get close 1001.
#include <rtwire.hpp>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>

namespace {

volatile std::sig_atomic_t g_stop = 0;

extern "C" void on_signal(int) { g_stop = 1; }

struct Member {
    rtwire::Conn conn;
    std::uint64_t id = 0;
    std::string room;
    std::string name;
};

class Chat {
  public:
    Chat(rtwire::Server &server, std::string token) : server_(server), token_(std::move(token)) {}

    void handle(const rtwire::Event &ev) {
        switch (ev.type()) {
        case RTWIRE_EVENT_TYPE_SERVER_REQUEST:
            decide(ev.request());
            break;
        case RTWIRE_EVENT_TYPE_SERVER_ACCEPTED:
            joined(ev);
            break;
        case RTWIRE_EVENT_TYPE_MESSAGE:
            message(ev);
            break;
        case RTWIRE_EVENT_TYPE_CLOSED:
            left(ev.conn());
            break;
        default:
            break;
        }
    }

    bool empty() const noexcept { return members_.empty(); }
    void clear() { members_.clear(); }

  private:
    static std::string param(const rtwire::Request &req, const char *name, const char *fallback) {
        auto v = req.query_param(name);
        return v && !v->empty() ? std::string(*v) : std::string(fallback);
    }

    void decide(const rtwire::Request &req) {
        auto token = req.query_param("token");
        auto auth = req.header("authorization");
        bool ok = (token && *token == token_) || (auth && *auth == "Bearer " + token_);
        try {
            if (ok) {
                req.accept();
            } else {
                req.reject(401, "bad token");
            }
        } catch (const rtwire::Error &e) {
            std::cerr << "answer: " << e.what() << "\n";  // too late: the client went away
        }
    }

    // A line for the rest of the room, also kept in the room's log channel
    // (a room that is no valid channel name has no log).
    void say(const Member &m, const std::string &line) {
        try {
            server_.to(m.room, line, {m.id});
            server_.publish("log-" + m.room, line);
        } catch (const rtwire::Error &) {
        }
    }

    void joined(const rtwire::Event &ev) {
        Member m;
        m.conn = rtwire::Conn::accepted(ev);
        m.id = ev.connection_id();
        m.room = param(ev.request(), "room", "lobby");
        m.name = param(ev.request(), "name", "anon");
        try {
            server_.join(m.id, m.room);
            m.conn.send("welcome " + m.name + " to " + m.room);
        } catch (const rtwire::Error &) {
        }
        say(m, m.name + " joined");
        members_[m.conn.get()] = std::move(m);
    }

    void message(const rtwire::Event &ev) {
        auto it = members_.find(ev.conn());
        if (it == members_.end() || !ev.is_text()) {
            return;  // binary: not part of the chat
        }
        Member &m = it->second;
        try {
            if (ev.text() == "/who") {
                m.conn.send("members " + m.room + ": " + std::to_string(server_.member_count(m.room)));
            } else {
                say(m, m.name + ": " + std::string(ev.text()));
            }
        } catch (const rtwire::Error &) {
        }
    }

    void left(rtwire_conn *conn) {
        auto it = members_.find(conn);
        if (it == members_.end()) {
            return;
        }
        try {
            server_.leave(it->second.id, it->second.room);
        } catch (const rtwire::Error &) {
        }
        say(it->second, it->second.name + " left");
        members_.erase(it);
    }

    rtwire::Server &server_;
    std::string token_;
    std::map<rtwire_conn *, Member> members_;
};

}  // namespace

int main(int argc, char **argv) {
    const std::string port = argc > 1 ? argv[1] : "0";
    const char *env = std::getenv("CHAT_TOKEN");
    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);
    try {
        rtwire::Context ctx;
        rtwire::ServerOptions opts;
        opts.bind("127.0.0.1:" + port).route("/chat").accept().cors();
        rtwire::Server server(ctx, opts);
        Chat chat(server, env ? env : "s3cret");
        std::cout << "PORT " << server.port() << std::endl;

        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
        while (!g_stop && std::chrono::steady_clock::now() < deadline) {
            for (int i = 0; i < 10000; i++) {
                auto ev = i == 0 ? ctx.next(200) : ctx.try_next();
                if (!ev) {
                    break;
                }
                chat.handle(*ev);
            }
        }
        // Clients get close 1001; their CLOSED events end their members.
        server.stop();
        for (int i = 0; i < 50 && !chat.empty(); i++) {
            for (int j = 0; j < 10000; j++) {
                auto ev = j == 0 ? ctx.next(100) : ctx.try_next();
                if (!ev) {
                    break;
                }
                chat.handle(*ev);
            }
        }
        chat.clear();
        return 0;
    } catch (const rtwire::Error &e) {
        std::cerr << e.what() << "\n";
        return 1;
    }
}
