// See csignals.h. Everything in the handler is async-signal-safe: write, tcsetattr, _exit.
#define _GNU_SOURCE
#include "csignals.h"

#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static volatile sig_atomic_t terminal_active = 0;
static struct termios saved_modes;
static volatile sig_atomic_t modes_saved = 0;
static int installed = 0;

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
    if (terminal_active) {
        // Leave the alternate screen, show the cursor, reset attributes; then the saved modes.
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
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    const int sigs[] = {SIGBUS, SIGSEGV, SIGILL, SIGTRAP, SIGFPE, SIGABRT};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &sa, NULL);
}

void cs_set_terminal_active(int active) {
    if (active && !modes_saved && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_modes) == 0) modes_saved = 1;
    terminal_active = active ? 1 : 0;
}
