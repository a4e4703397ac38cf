// See csignals.h. Everything in the handler is async-signal-safe: open, dup2, nanosleep, write,
// tcsetattr, pause, _exit.
#define _GNU_SOURCE
#include "csignals.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t terminal_active = 0;
static struct termios saved_modes;
static volatile sig_atomic_t modes_saved = 0;
static int installed = 0;
static int reporting = 0;  // set by the first thread into the handler

static void say(const char *s) {
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, s, n);
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

static void on_fatal(int sig, siginfo_t *info, void *context) {
    (void)info;
    (void)context;
    // Several threads can fault at once (every matmul worker reads the same unmapped pages). The
    // first reports; the others wait here for its _exit, so none dies of the default action mid-line.
    if (__atomic_exchange_n(&reporting, 1, __ATOMIC_SEQ_CST)) {
        for (;;) pause();
    }
    if (terminal_active) {
        // The UI thread may be drawing a frame: point its stdout (ncurses writes there) at
        // /dev/null, give a write already in the kernel a moment to finish, and only then leave the
        // alternate screen, show the cursor, reset attributes (on stderr) and restore the modes.
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) dup2(null, STDOUT_FILENO);
        struct timespec pause_for = {.tv_sec = 0, .tv_nsec = 20 * 1000 * 1000};
        nanosleep(&pause_for, NULL);
        say("\033[0m\033[?25h\033[?1049l\r\n");
        if (modes_saved) tcsetattr(STDIN_FILENO, TCSANOW, &saved_modes);
    }
    switch (sig) {
    case SIGBUS:
        say("workbench: fatal: SIGBUS: a memory-mapped file (the model, most likely) was truncated or changed "
            "while in use; reopen it once it is whole\n");
        break;
    case SIGSEGV: say("workbench: fatal: SIGSEGV (invalid memory access); this is a bug, please report it\n"); break;
    case SIGABRT: say("workbench: fatal: aborted (SIGABRT); the message above says why\n"); break;
    case SIGFPE: say("workbench: fatal: SIGFPE (arithmetic error); this is a bug, please report it\n"); break;
    default: say("workbench: fatal: a runtime check failed (SIGILL/SIGTRAP); this is a bug, please report it\n"); break;
    }
    _exit(128 + sig);
}

void cs_install_fatal_handlers(void) {
    if (installed) return;
    installed = 1;
    // The handlers run on their own stack, so a stack overflow (SIGSEGV) is reported too.
    static char stack[64 * 1024];
    stack_t ss = {.ss_sp = stack, .ss_size = sizeof stack, .ss_flags = 0};
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fatal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;  // not SA_RESETHAND: a second thread's fault must wait, not kill
    const int sigs[] = {SIGBUS, SIGSEGV, SIGILL, SIGTRAP, SIGFPE, SIGABRT};
    // All of them blocked while reporting: a fault inside the handler then kills the process
    // (the kernel's rule for a blocked synchronous signal) instead of waiting on itself.
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaddset(&sa.sa_mask, sigs[i]);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &sa, NULL);
}

void cs_set_terminal_active(int active) {
    if (active && !modes_saved && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_modes) == 0) modes_saved = 1;
    terminal_active = active ? 1 : 0;
}
