// LoopMailbox: tasks posted from other threads run on the loop's thread, none after close().
#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "base/loop_mailbox.hpp"
#include "event_loop.hpp"

using namespace dance::dns;
using dance::LoopMailbox;

TEST_CASE("tasks posted from other threads all run on the loop thread") {
    test::EventLoop loop;
    auto mailbox = LoopMailbox::create(loop.base());
    REQUIRE(mailbox);
    auto loop_thread = std::this_thread::get_id();
    int ran = 0;
    std::atomic<int> off_thread{0};
    std::vector<std::thread> posters;
    for (int t = 0; t < 4; ++t) {
        posters.emplace_back([&] {
            for (int i = 0; i < 500; ++i) {
                mailbox->post([&] {
                    ++ran;
                    if (std::this_thread::get_id() != loop_thread) ++off_thread;
                });
            }
        });
    }
    for (auto& poster : posters) poster.join();
    CHECK(loop.run_until([&] { return ran == 2000; }));
    CHECK(off_thread == 0);
    mailbox->close();
}

TEST_CASE("a closed mailbox drops queued and later tasks") {
    test::EventLoop loop;
    auto mailbox = LoopMailbox::create(loop.base());
    REQUIRE(mailbox);
    int ran = 0;
    CHECK(mailbox->post([&] { ++ran; }));
    mailbox->close();
    CHECK_FALSE(mailbox->post([&] { ++ran; }));
    loop.run_for(std::chrono::milliseconds(50));
    CHECK(ran == 0);
}

TEST_CASE("a task may close its own mailbox; the rest of the batch is dropped") {
    test::EventLoop loop;
    auto mailbox = LoopMailbox::create(loop.base());
    REQUIRE(mailbox);
    int ran = 0;
    mailbox->post([&] {
        ++ran;
        mailbox->close();
        mailbox.reset();  // drop our reference while the mailbox is running this task
    });
    std::weak_ptr<LoopMailbox> observer = mailbox;
    observer.lock()->post([&] { ++ran; });
    loop.run_for(std::chrono::milliseconds(50));
    CHECK(ran == 1);
    CHECK(observer.expired());
}
