// Wide-character ncurses (ncursesw). _XOPEN_SOURCE_EXTENDED exposes the cchar_t/wide calls.
#ifndef CNCURSES_SHIM_H
#define CNCURSES_SHIM_H
#define _XOPEN_SOURCE_EXTENDED 1
#include <locale.h>
#include <ncursesw/curses.h>

// Macros in curses.h do not import into Swift; tiny wrappers do.
static inline int cn_color_pair(int n) { return (int)COLOR_PAIR(n); }
static inline int cn_lines(void) { return LINES; }
static inline int cn_cols(void) { return COLS; }
static inline int cn_colors(void) { return COLORS; }
static inline WINDOW *cn_stdscr(void) { return stdscr; }
#endif
