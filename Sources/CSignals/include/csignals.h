// Fatal signals (SIGBUS, SIGSEGV, SIGILL, SIGTRAP, SIGFPE, SIGABRT) end the process with one clear
// line on stderr, after giving the terminal back when the full-screen workbench had it: no
// interactive backtracer in front of the user, no terminal left on the alternate screen.
#ifndef CSIGNALS_H
#define CSIGNALS_H

#ifdef __cplusplus
extern "C" {
#endif

/// Installs the handlers (once; later calls do nothing).
void cs_install_fatal_handlers(void);

/// The full-screen mode began (1; the terminal's modes are saved now) or ended (0).
void cs_set_terminal_active(int active);

#ifdef __cplusplus
}
#endif
#endif
