// A tiny chat client with the C++ layer (include/rtwire.hpp): offers the chat.v1
// subprotocol, sends a few lines, prints the echoes, closes.
//
//   c++ -std=c++17 chat.cpp $(pkg-config --cflags --libs rtwire) -o chat
//   ./chat ws://127.0.0.1:9001/echo
#include <rtwire.hpp>

#include <iostream>
#include <string>
#include <vector>

int main(int argc, char **argv) {
    const std::string url = argc > 1 ? argv[1] : "ws://127.0.0.1:9001/echo";
    const std::vector<std::string> lines = {"hi all", "how is it going?", "bye"};
    try {
        rtwire::Context ctx;
        rtwire::Options opts;
        opts.subprotocol("chat.v1").header("X-Chat-User", "cpp").open_timeout_ms(5000);
        opts.set("keepalive.interval", "15s");
        rtwire::Conn conn = ctx.connect(url, &opts);

        std::size_t echoed = 0;
        int idle = 0;
        bool closed_cleanly = false;
        while (idle < 100) {
            auto ev = ctx.next(100);
            if (!ev) {
                idle++;
                continue;
            }
            idle = 0;
            if (ev->type() == RTWIRE_EVENT_TYPE_OPEN) {
                std::cout << "joined (protocol " << ev->protocol() << ")\n";
                for (const auto &l : lines) {
                    if (!conn.send(l, 1000)) {
                        std::cerr << "backpressure on " << l << "\n";
                    }
                }
            } else if (ev->type() == RTWIRE_EVENT_TYPE_MESSAGE) {
                std::cout << "> " << ev->text() << "\n";
                if (++echoed == lines.size()) {
                    conn.close(1000, "leaving");
                }
            } else if (ev->type() == RTWIRE_EVENT_TYPE_ERROR) {
                std::cerr << "error: " << ev->error_message() << "\n";
            } else if (ev->type() == RTWIRE_EVENT_TYPE_CLOSED) {
                std::cout << "left (" << ev->close_code() << " " << ev->close_reason() << ")\n";
                closed_cleanly = ev->close_code() == 1000;
                break;
            }
        }
        try {
            conn.send("too late");
            std::cerr << "send after close did not fail\n";
            return 1;
        } catch (const rtwire::Error &e) {
            if (e.code() != RTWIRE_RESULT_CLOSED) {
                return 1;
            }
        }
        return (closed_cleanly && echoed == lines.size()) ? 0 : 1;
    } catch (const rtwire::Error &e) {
        std::cerr << e.what() << "\n";
        return 1;
    }
}
