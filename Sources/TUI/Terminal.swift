import CNcurses
import CSignals
import Foundation
import Workbench

/// The real terminal through ncursesw: reads keys, and copies a cell buffer to the screen (only the
/// cells that changed since the last frame). Colours come only from the theme; text cells come only
/// from the cell buffer, which holds sanitized text, so no escape sequence from the model is written.
public final class Terminal {
    private(set) var width = 0
    private(set) var height = 0
    private var previous: CellBuffer?
    private var depth: ColorDepth = .none
    private var theme: Theme
    private var pairs: [RoleLook: Int16] = [:]
    private var started = false

    public init(theme: Theme) {
        self.theme = theme
    }

    /// Enters full-screen mode. `noColor` (NO_COLOR set) keeps the terminal's own colours.
    public func start(noColor: Bool) {
        setlocale(LC_ALL, "")
        // Alt-digit arrives as ESC + digit: wait only briefly for the second byte.
        setenv("ESCDELAY", "25", 1)
        cs_set_terminal_active(1)  // saves the terminal's modes for a fatal signal's handler
        initscr()
        started = true
        raw()
        noecho()
        nonl()
        keypad(cn_stdscr(), true)
        meta(cn_stdscr(), true)
        if has_colors() && !noColor {
            start_color()
            use_default_colors()
        }
        depth = ColorDepth.from(colors: has_colors() ? Int(cn_colors()) : 0, noColor: noColor)
        width = Int(cn_cols())
        height = Int(cn_lines())
    }

    /// Leaves full-screen mode and gives the terminal back as it was. Safe to call twice.
    public func stop() {
        guard started else { return }
        started = false
        endwin()
        cs_set_terminal_active(0)
    }

    public func setTheme(_ t: Theme) {
        guard t != theme else { return }
        theme = t
        pairs = [:]
        previous = nil
    }

    public var size: (width: Int, height: Int) { (width, height) }

    /// Waits up to `timeoutMs` (-1: forever) for a key. Returns nil on timeout; a resize returns
    /// `.resize` after updating the size.
    public enum Input { case key(Key), resize, none }

    public func read(timeoutMs: Int32) -> Input {
        timeout(timeoutMs)
        var ch: wint_t = 0
        let r = get_wch(&ch)
        if r == ERR { return .none }
        if r == KEY_CODE_YES {
            if Int32(ch) == KEY_RESIZE {
                width = Int(cn_cols())
                height = Int(cn_lines())
                previous = nil
                return .resize
            }
            return keyFromCode(Int32(ch)).map { .key($0) } ?? .none
        }
        // A character.
        if ch == 27 {
            // ESC alone, or ESC + key (Alt).
            timeout(0)
            var next: wint_t = 0
            let r2 = get_wch(&next)
            if r2 == OK, let scalar = Unicode.Scalar(UInt32(next)), next >= 32 {
                return .key(.alt(Character(scalar)))
            }
            if r2 == KEY_CODE_YES { return keyFromCode(Int32(next)).map { .key($0) } ?? .none }
            return .key(.escape)
        }
        return .key(Terminal.decode(UInt32(ch)))
    }

    /// A character code from the terminal as a key (control characters as Ctrl-letters).
    public static func decode(_ code: UInt32) -> Key {
        switch code {
        case 13, 10: return .enter
        case 9: return .tab
        case 127, 8: return .backspace
        case 1...26: return .ctrl(Character(Unicode.Scalar(code + 96)!))
        default:
            guard let scalar = Unicode.Scalar(code) else { return .char("?") }
            return .char(Character(scalar))
        }
    }

    private func keyFromCode(_ code: Int32) -> Key? {
        switch code {
        case KEY_UP: return .up
        case KEY_DOWN: return .down
        case KEY_LEFT: return .left
        case KEY_RIGHT: return .right
        case KEY_PPAGE: return .pageUp
        case KEY_NPAGE: return .pageDown
        case KEY_HOME: return .home
        case KEY_END: return .end
        case KEY_BACKSPACE: return .backspace
        case KEY_DC: return .delete
        case KEY_BTAB: return .backTab
        case KEY_ENTER: return .enter
        case KEY_F0 + 1...KEY_F0 + 12: return .function(Int(code - KEY_F0))
        default: return nil
        }
    }

    /// Copies the changed cells of `buf` to the screen and places the cursor.
    public func draw(_ buf: CellBuffer) {
        let full = previous == nil || previous!.width != buf.width || previous!.height != buf.height
        if full { erase() }
        for y in 0..<min(buf.height, height) {
            for x in 0..<min(buf.width, width) {
                let cell = buf[x, y]
                if !full, let p = previous, p[x, y] == cell { continue }
                if cell.text.isEmpty { continue }  // right half of a wide character
                // The last cell of the screen cannot be written without scrolling on some terminals.
                if y == height - 1 && x == width - 1 { continue }
                put(cell, x: x, y: y)
            }
        }
        previous = buf
        if let c = buf.cursor {
            curs_set(1)
            move(Int32(c.y), Int32(c.x))
        } else {
            curs_set(0)
        }
        refresh()
    }

    private func put(_ cell: Cell, x: Int, y: Int) {
        let look = theme.look(cell.style.role, depth: depth)
        var attrs: attr_t = 0
        if look.bold || cell.style.bold { attrs |= attr_t(attrBit(1, 13)) }       // A_BOLD
        if look.underline || cell.style.underline { attrs |= attr_t(attrBit(1, 9)) }  // A_UNDERLINE
        if look.reverse != cell.style.reverse { attrs |= attr_t(attrBit(1, 10)) }     // A_REVERSE
        let pair = depth == .none ? 0 : pairNumber(look)
        var wc = Array(cell.text.unicodeScalars.prefix(5).map { wchar_t(bitPattern: $0.value) }) + [0]
        var cch = cchar_t()
        setcchar(&cch, &wc, attrs, pair, nil)
        mvadd_wch(Int32(y), Int32(x), &cch)
    }

    private func pairNumber(_ look: RoleLook) -> Int16 {
        var key = look
        key.bold = false; key.underline = false; key.reverse = false
        if let p = pairs[key] { return p }
        let n = Int16(pairs.count + 1)
        func code(_ c: ThemeColor) -> Int16 {
            switch c {
            case .terminalDefault: return -1
            case .index(let i): return Int16(i)
            }
        }
        init_pair(n, code(look.foreground), code(look.background))
        pairs[key] = n
        return n
    }

    /// ncurses attribute bits (A_BOLD and friends are macros Swift cannot import).
    private func attrBit(_ mask: UInt32, _ shift: UInt32) -> UInt32 { mask << (shift + 8) }
}

/// Runs the workbench in the terminal until the user quits: keys are handled as they arrive and
/// the screen is redrawn after each; generation events wake the loop through a short read timeout.
public enum TerminalApp {
    public static func run(_ app: App, noColor: Bool) {
        let terminal = Terminal(theme: app.state.theme)
        terminal.start(noColor: noColor)
        // Ctrl-C arrives as a key in raw mode; SIGTERM/SIGHUP still restore the terminal.
        for sig in [SIGTERM, SIGHUP] {
            signal(sig) { _ in
                endwin()
                exit(0)
            }
        }
        defer { terminal.stop() }
        app.resize(width: terminal.size.width, height: terminal.size.height)
        terminal.draw(app.frame())
        // Benchmark hook (bench/tui-latency.sh): per key, the time from reading it to the drawn frame.
        let latencyLog = ProcessInfo.processInfo.environment["WORKBENCH_LATENCY_LOG"].flatMap { FileHandle(forWritingAtPath: $0) }
        while !app.state.shouldQuit {
            // Poll fast while a generation streams, slowly when idle.
            let input = terminal.read(timeoutMs: app.state.isGenerating ? 15 : 250)
            let keyTime = DispatchTime.now().uptimeNanoseconds
            var dirty = app.drain()
            switch input {
            case .key(let k):
                app.handle(k)
                terminal.setTheme(app.state.theme)
                terminal.draw(app.frame())
                dirty = false
                if let latencyLog {
                    let ms = Double(DispatchTime.now().uptimeNanoseconds - keyTime) / 1e6
                    latencyLog.write(Data(String(format: "%.3f %d\n", ms, app.state.isGenerating ? 1 : 0).utf8))
                }
            case .resize:
                app.resize(width: terminal.size.width, height: terminal.size.height)
                dirty = true
            case .none: break
            }
            if dirty {
                terminal.setTheme(app.state.theme)
                terminal.draw(app.frame())
            }
        }
        // A run still going is cancelled and given a moment to finish, so what it made is saved.
        if app.state.isGenerating {
            app.cancelGeneration()
            let deadline = Date().addingTimeInterval(3)
            while app.state.isGenerating && Date() < deadline {
                app.drain()
                usleep(10_000)
            }
        }
        app.drain()
        app.flushNotebook()
    }
}
