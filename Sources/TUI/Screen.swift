import Foundation
import Model
import Techniques
import Workbench

/// Draws the whole workbench from its state into a cell buffer: a pure function of the state, so
/// every screen can be tested without a terminal.
public enum Screen {
    public static let minWidth = 60
    public static let minHeight = 16

    public static func render(_ s: AppState) -> CellBuffer {
        var buf = CellBuffer(width: s.width, height: s.height)
        let all = Rect(x: 0, y: 0, width: s.width, height: s.height)
        buf.fill(all, style: Style(.normal))
        guard s.width >= minWidth, s.height >= minHeight else {
            tooSmall(s, &buf)
            return buf
        }
        let (tabs, rest) = all.splitTop(1)
        let (middle, bottom) = rest.splitBottom(2)
        let (statusRow, footerRow) = bottom.splitTop(1)
        drawTabs(s, tabs, &buf)
        drawPane(s, middle, &buf)
        drawStatus(s, statusRow, &buf)
        drawFooter(s, footerRow, &buf)
        if s.overlay == .help { drawHelp(s, middle, &buf) }
        return buf
    }

    static func tooSmall(_ s: AppState, _ buf: inout CellBuffer) {
        let text = "Terminal too small (\(s.width)×\(s.height)). The workbench needs at least \(minWidth)×\(minHeight): enlarge the window. Ctrl-C quits."
        let lines = Wrap.lines(text, width: max(1, s.width - 2), style: Style(.warning, bold: true))
        let top = max(0, (s.height - lines.count) / 2)
        for (i, line) in lines.enumerated() where top + i < s.height { buf.put(line, x: 1, y: top + i) }
    }

    // MARK: chrome

    static func drawTabs(_ s: AppState, _ r: Rect, _ buf: inout CellBuffer) {
        buf.fill(r, style: Style(.tabInactive))
        var x = r.x
        let compact = r.width < 72  // at the minimum width the six labels still fit, unpadded
        for pane in Pane.allCases {
            let active = pane == s.pane
            let label = compact ? "\(pane.rawValue) \(pane.title)" : " \(pane.rawValue) \(pane.title) "
            x = buf.put(label, x: x, y: r.y, style: Style(active ? .tabActive : .tabInactive, bold: active))
            x = buf.put(" ", x: x, y: r.y, style: Style(.tabInactive))
        }
        let help = "? help "
        let hx = r.maxX - CellWidth.of(help)
        if hx > x { buf.put(help, x: hx, y: r.y, style: Style(.tabInactive)) }
    }

    static func drawStatus(_ s: AppState, _ r: Rect, _ buf: inout CellBuffer) {
        buf.fill(r, style: Style(.status))
        var parts = [s.backend.map { "\(s.modelName) on \($0)" } ?? s.modelName]
        if let running = s.running {
            parts.append("● \(running.pane.title)" + (s.tokensPerSecond.map { String(format: " %.1f tok/s", $0) } ?? " …"))
        }
        if s.backend == nil { parts.append("adapter: \(s.adapterName ?? "none")") }
        parts.append("ctx \(s.contextUsed)/\(s.contextLimit > 0 ? String(s.contextLimit) : "?")")
        if let settings = s.settings(of: s.pane) {
            parts.append("seed \(settings.seed)")
            parts.append(String(format: "T %.2f", settings.temperature))
        }
        parts.append("session: \(s.sessionPath.map { URL(fileURLWithPath: $0).lastPathComponent } ?? "none")")
        buf.put(" " + parts.joined(separator: " │ "), x: r.x, y: r.y, style: Style(.status))
    }

    static func drawFooter(_ s: AppState, _ r: Rect, _ buf: inout CellBuffer) {
        buf.fill(r, style: Style(.footer))
        switch s.overlay {
        case .palette(let field):
            drawPromptLine(":", field, r, &buf)
            if !s.paletteCandidates.isEmpty {
                // The candidates after the text, dimmed; the cursor stays in the field.
                let cursor = buf.cursor
                let x = r.x + 2 + CellWidth.of(field.text) + 2
                if x < r.maxX { _ = buf.put("(" + s.paletteCandidates.joined(separator: " ") + ")", x: x, y: r.y, style: Style(.dim), limit: r.maxX) }
                buf.cursor = cursor
            }
            return
        case .search(let field):
            drawPromptLine("/", field, r, &buf)
            return
        default: break
        }
        if let m = s.message {
            buf.put(" " + m.text, x: r.x, y: r.y, style: Style(m.isError ? .error : .footer))
            return
        }
        var x = r.x + 1
        // Whole hints only: one that does not fit is left out (with "? more"), never cut mid-word.
        let hints = footerHints(s)
        for (i, (key, what)) in hints.enumerated() {
            let width = CellWidth.of(key) + CellWidth.of(" \(what)  ")
            let reserve = i == hints.count - 1 ? 0 : CellWidth.of("? more")
            if x + width + reserve > r.maxX {
                buf.put("? more", x: x, y: r.y, style: Style(.dim))
                break
            }
            x = buf.put(key, x: x, y: r.y, style: Style(.key))
            x = buf.put(" \(what)  ", x: x, y: r.y, style: Style(.footer))
        }
    }

    static func drawPromptLine(_ prompt: String, _ field: TextField, _ r: Rect, _ buf: inout CellBuffer) {
        let x = buf.put(prompt, x: r.x, y: r.y, style: Style(.key))
        let (visible, cursorCol) = visibleTail(field, width: r.width - 2)
        buf.put(visible, x: x, y: r.y, style: Style(.footer))
        buf.cursor = (x + cursorCol, r.y)
    }

    /// The part of a field that fits in `width` cells, keeping the cursor in view.
    static func visibleTail(_ field: TextField, width: Int) -> (String, Int) {
        let chars = Array(field.text)
        var start = 0
        while start < field.cursor, CellWidth.of(String(chars[start..<field.cursor])) > width - 1 { start += 1 }
        let (shown, _) = CellWidth.prefix(String(chars[start...]), fitting: width)
        return (shown, CellWidth.of(String(chars[start..<field.cursor])))
    }

    /// The footer's hints: in a field, how to leave and send; outside, the pane's bindings that have a
    /// footer word, then pin and help (from the same tables as the help and the README).
    public static func footerHints(_ s: AppState) -> [(String, String)] {
        if s.focus == .input && paneAcceptsInput(s) {
            var hints: [(String, String)]
            if s.pane == .notebook && s.notebook.editsLines {
                hints = [("Ctrl-S", "save"), ("Enter", "new line"), ("Esc", "keep draft")]
            } else {
                hints = [("Enter", s.pane == .notebook ? "save" : "send"), ("Esc", "keys")]
            }
            if s.pane == .prefill || s.pane == .persona { hints.append(("Tab", "next field")) }
            hints += [("Alt-1…6", "panes"), ("Ctrl-C", "quit")]
            return hints
        }
        func key(_ label: String) -> String {
            // "j / k" reads "j/k"; a long label ("i, Enter") shows its first key.
            label.count <= 5 ? label.replacingOccurrences(of: " / ", with: "/") : String(label.prefix { $0 != "," && $0 != " " })
        }
        let global = Dictionary(uniqueKeysWithValues: Bindings.global.compactMap { b in b.hint.map { ($0, (key(b.label), $0)) } })
        let pane = Bindings.hints(s.pane, s).map { (key($0.label), $0.hint) }
        let pin = s.pane == .notebook ? [] : [global["pin"]!]
        return (s.pane == .notebook ? [] : [global["type"]!]) + pane + pin + [global["help"]!]
    }

    static func paneAcceptsInput(_ s: AppState) -> Bool {
        switch s.pane {
        case .chat, .prefill, .persona: return true
        case .notebook: return s.notebook.editing != .none
        case .data: return s.data.open == nil
        case .features: return s.features.available
        }
    }

    // MARK: panes

    /// A pane's parts: fixed header rows, the scrollable body, and the fields at the bottom.
    struct PaneView {
        var header: [StyledLine] = []
        var body: [StyledLine] = []
        var bottom: [StyledLine] = []
        /// Row within `bottom` and column of the text cursor, when a field has focus.
        var cursor: (row: Int, col: Int)?
    }

    /// The body rows of a pane and how many rows are visible (used by search to scroll to a match).
    public static func bodyLayout(_ s: AppState, pane: Pane) -> (lines: [StyledLine], height: Int) {
        let area = Rect(x: 0, y: 1, width: s.width, height: s.height - 3)
        let v = view(s, pane, width: area.width - 2)
        return (v.body, bodyHeight(v, rows: area.height))
    }

    /// The rows the body gets in a pane area of `rows`: what the header, its rule, the bottom
    /// field and the rule above it leave (drawPane and the scroll limits share this).
    static func bodyHeight(_ v: PaneView, rows: Int) -> Int {
        let headerRows = min(v.header.count, rows) + (v.header.isEmpty || v.header.count >= rows ? 0 : 1)
        let bottomRows = min(v.bottom.count, max(0, rows - headerRows))
        return max(0, rows - headerRows - bottomRows - (bottomRows > 0 ? 1 : 0))
    }

    /// The first body line showing a selected item (a span in the selection role), if any.
    static func selectedLine(_ lines: [StyledLine]) -> Int? {
        lines.firstIndex { $0.spans.contains { $0.style.role == .selection } }
    }

    static func drawPane(_ s: AppState, _ r: Rect, _ buf: inout CellBuffer) {
        switch s.pane {
        case .chat: s.chat.render(into: &buf, area: r, s)
        case .prefill: s.prefill.render(into: &buf, area: r, s)
        case .persona: s.persona.render(into: &buf, area: r, s)
        case .notebook: s.notebook.render(into: &buf, area: r, s)
        case .features: s.features.render(into: &buf, area: r, s)
        case .data: s.data.render(into: &buf, area: r, s)
        }
    }

    /// Draws a pane's view into `r`: header, rule, the scrolled body, rule, the fields at the bottom.
    static func drawPane(_ view: PaneView, _ s: AppState, _ pane: Pane, _ r: Rect, _ buf: inout CellBuffer) {
        let inner = Rect(x: r.x + 1, y: r.y, width: r.width - 2, height: r.height)
        var v = view
        if let q = s.search[pane] { v.body = v.body.map { highlight($0, q) } }
        var y = inner.y
        for line in v.header where y < inner.maxY { buf.put(line, x: inner.x, y: y, limit: inner.maxX); y += 1 }
        if !v.header.isEmpty, y < inner.maxY {
            buf.put(String(repeating: "─", count: inner.width), x: inner.x, y: y, style: Style(.border))
            y += 1
        }
        let bottomRows = min(v.bottom.count, max(0, inner.maxY - y))
        let bodyHeight = Screen.bodyHeight(v, rows: inner.height)
        let scroll = min(scrollOffset(s, pane), max(0, v.body.count - bodyHeight))
        // Streaming panes follow the end (scroll counts rows up from the bottom); browsing panes
        // start at the top (scroll counts rows down).
        let first = anchorsTop(pane) ? scroll : max(0, v.body.count - bodyHeight - scroll)
        for (i, line) in v.body[first..<min(v.body.count, first + bodyHeight)].enumerated() {
            buf.put(line, x: inner.x, y: y + i, limit: inner.maxX)
        }
        let below = v.body.count - first - bodyHeight
        if below > 0, bodyHeight > 0 {
            let tag = " ↓ \(below) more below (j, PgDn, G) "
            buf.put(tag, x: inner.maxX - CellWidth.of(tag), y: y + bodyHeight - 1, style: Style(.dim, reverse: true))
        }
        if bottomRows > 0 {
            let by = inner.maxY - bottomRows
            buf.put(String(repeating: "─", count: inner.width), x: inner.x, y: by - 1, style: Style(.border))
            let shown = v.bottom.suffix(bottomRows)
            let skipped = v.bottom.count - bottomRows
            for (i, line) in shown.enumerated() { buf.put(line, x: inner.x, y: by + i, limit: inner.maxX) }
            if let c = v.cursor, c.row >= skipped, s.overlay == .none {
                buf.cursor = (inner.x + min(c.col, inner.width - 1), by + c.row - skipped)
            }
        }
    }

    /// Panes read from the top (lists, documents) rather than following streamed text at the end.
    public static func anchorsTop(_ pane: Pane) -> Bool { pane == .features || pane == .notebook || pane == .data }

    static func scrollOffset(_ s: AppState, _ pane: Pane) -> Int {
        switch pane {
        case .chat: return s.chat.scroll
        case .prefill: return s.prefill.scroll
        case .persona: return s.persona.scroll
        case .notebook: return s.notebook.scroll
        case .data: return s.data.scroll
        case .features: return s.features.scroll
        }
    }

    static func view(_ s: AppState, _ pane: Pane, width: Int) -> PaneView {
        switch pane {
        case .chat: return s.chat.view(s, width: width)
        case .prefill: return s.prefill.view(s, width: width)
        case .persona: return s.persona.view(s, width: width)
        case .notebook: return s.notebook.view(s, width: width)
        case .features: return s.features.view(s, width: width)
        case .data: return s.data.view(s, width: width)
        }
    }

    static func emptyState(width: Int, title: String, text: String) -> PaneView {
        var v = PaneView()
        v.body = [StyledLine()] + Wrap.lines(title, width: width, style: Style(.title)) + [StyledLine()]
            + Wrap.lines(text, width: width, style: Style(.dim))
        return v
    }

    static func settingsLine(_ settings: PaneSettings, extra: String = "") -> StyledLine {
        StyledLine([Span(settings.summary, Style(.dim)), Span(extra, Style(.accent))])
    }

    static func matchSummary(_ run: SampleRun?, _ pattern: String) -> String {
        guard let run else { return "" }
        let done = run.finished.filter { $0 }.count
        var s = run.requested.map { "  │ \(done) of \($0) done, stopped" } ?? "  │ \(done)/\(run.texts.count) done"
        if let m = run.matching(pattern) { s += "  │ \(m.count)/\(run.texts.count) match /\(pattern)/" }
        return s
    }

    /// "organism 7/8 vs base 0/8 match /reward/" (without a valid pattern: how many are done).
    static func comparisonSummary(_ run: SampleRun, _ base: SampleRun, _ pattern: String) -> String {
        if let m = run.matching(pattern), let b = base.matching(pattern) {
            return "organism \(m.count)/\(run.texts.count) vs base \(b.count)/\(base.texts.count) match /\(pattern)/"
        }
        return "organism \(run.texts.count) vs base \(base.finished.filter { $0 }.count)/\(base.texts.count) samples"
    }

    /// The organism's and the base model's samples of the same seeds, side by side, paired by seed
    /// (a base run stopped early shows "not run" beside the seeds it did not reach).
    static func comparisonLines(_ run: SampleRun, _ base: SampleRun, pattern: String, width: Int, prefix: String = "") -> [StyledLine] {
        var out = [StyledLine([Span("Organism beside the base model (adapter off), same seeds", Style(.title)),
                               Span("  │ " + comparisonSummary(run, base, pattern), Style(.accent))])]
        let matchO = Set(run.matching(pattern) ?? []), matchB = Set(base.matching(pattern) ?? [])
        func side(_ r: SampleRun, _ i: Int?, seed: UInt64, _ who: String, _ marked: Set<Int>) -> (head: StyledLine, body: StyledLine) {
            guard let i else { return (StyledLine("\(who) seed \(seed)", Style(.dim, bold: true)), StyledLine("(not run)", Style(.dim))) }
            var body: [Span] = prefix.isEmpty ? [] : [Span(prefix, Style(.prefill))]
            body.append(Span(r.texts[i], Style(.assistant)))
            if !r.finished[i] { body.append(Span("▌", Style(.accent))) }
            return (StyledLine([Span("\(who) #\(i + 1) seed \(r.seeds[i])", Style(.accent, bold: true)), Span(marked.contains(i) ? " ✓ match" : "", Style(.match))]),
                    StyledLine(body))
        }
        for (i, seed) in run.seeds.enumerated() {
            let b = base.seeds.firstIndex(of: seed)
            out += sideBySide([side(run, i, seed: seed, "organism", matchO), side(base, b, seed: seed, "base", matchB)], width: width)
            out.append(StyledLine())
        }
        return out
    }

    /// Samples as a list (each under its own heading) or side by side in columns.
    static func sampleLines(_ run: SampleRun, pattern: String, layout: SampleLayout, width: Int, title: String,
                            prefix: String = "", selected: Int? = nil) -> [StyledLine] {
        let matching = Set(run.matching(pattern) ?? [])
        var out: [StyledLine] = [StyledLine([Span(title, Style(.title)), Span(matchSummary(run, pattern), Style(.accent))])]
        func body(_ i: Int) -> StyledLine {
            var spans: [Span] = []
            if !prefix.isEmpty { spans.append(Span(prefix, Style(.prefill))) }
            spans.append(Span(run.texts[i], Style(.assistant)))
            if !run.finished[i] { spans.append(Span("▌", Style(.accent))) }
            return StyledLine(spans)
        }
        func heading(_ i: Int) -> StyledLine {
            let mark = matching.contains(i) ? " ✓ match" : ""
            return StyledLine([Span("#\(i + 1) seed \(run.seeds[i])", Style(selected == i ? .selection : .accent, bold: true)), Span(mark, Style(.match))])
        }
        let columns = layout == .columns ? max(1, min(run.texts.count, width / 28)) : 1
        if columns == 1 {
            for i in run.texts.indices {
                out.append(heading(i))
                out += Wrap.lines(body(i), width: width)
                out.append(StyledLine())
            }
            return out
        }
        // Side by side: rows of `columns` samples, each wrapped to its column.
        let colWidth = (width - (columns - 1) * 3) / columns
        for rowStart in stride(from: 0, to: run.texts.count, by: columns) {
            let ids = Array(rowStart..<min(run.texts.count, rowStart + columns))
            out += sideBySide(ids.map { (heading($0), body($0)) }, width: colWidth * ids.count + (ids.count - 1) * 3)
            out.append(StyledLine())
        }
        return out
    }

    /// A labelled text field, hard-wrapped to `width`, showing the rows around the cursor.
    /// `multiline`: a line break in the text starts a row (else it shows as a space).
    static func fieldLines(label: String, field: TextField, width: Int, focused: Bool, maxRows: Int,
                           style: Style = Style(.normal), multiline: Bool = false) -> ([StyledLine], (row: Int, col: Int)?) {
        guard width > 2 else { return ([], nil) }
        var rows: [StyledLine] = [StyledLine([Span(label, Style(focused ? .key : .dim, bold: focused))])]
        var col = CellWidth.of(label)
        var cursor: (Int, Int)? = focused && field.cursor == 0 ? (0, col) : nil
        for (i, ch) in (multiline ? TerminalText.sanitize(field.text) : ScreenText.clean(field.text)).enumerated() {
            if ch == "\n" || ch == "\r\n" || ch == "\t" {
                if ch == "\t" { rows[rows.count - 1].spans.append(Span(" ", style)); col += 1 } else { rows.append(StyledLine()); col = 0 }
                if focused && i + 1 == field.cursor { cursor = (rows.count - 1, col) }
                continue
            }
            let w = CellWidth.of(ch)
            if col + w > width {
                rows.append(StyledLine())
                col = 0
            }
            rows[rows.count - 1].spans.append(Span(String(ch), style))
            col += w
            if focused && i + 1 == field.cursor { cursor = (rows.count - 1, col) }
        }
        if let c = cursor, c.1 >= width { rows.append(StyledLine()); cursor = (rows.count - 1, 0) }
        // Merge single-character spans of equal style.
        rows = rows.map { line in
            var merged = StyledLine()
            for sp in line.spans { merged.append(sp.text, sp.style) }
            return merged
        }
        if rows.count > maxRows {
            let cursorRow = cursor?.0 ?? rows.count - 1
            let start = min(max(0, cursorRow - maxRows + 1), rows.count - maxRows)
            let hiddenAbove = start, hiddenBelow = rows.count - start - maxRows
            rows = Array(rows[start..<start + maxRows])
            if let c = cursor { cursor = (c.0 - start, c.1) }
            // Say that the field holds more than it shows, and where (the cursor's row stays whole).
            let sign = hiddenAbove > 0 && hiddenBelow > 0 ? " ↕" : hiddenAbove > 0 ? " ↑" : " ↓"
            let tag = StyledLine([Span(sign + "\(hiddenAbove + hiddenBelow) more lines", Style(.dim))])
            if maxRows > 1 {
                if cursor?.0 != 0 { rows[0] = Screen.withTag(rows[0], tag, width: width) } else { rows[maxRows - 1] = Screen.withTag(rows[maxRows - 1], tag, width: width) }
            }
        }
        return (rows, cursor.map { (row: $0.0, col: $0.1) })
    }

    /// `line` cut so `tag` fits at the end of a row of `width` cells.
    static func withTag(_ line: StyledLine, _ tag: StyledLine, width: Int) -> StyledLine {
        let room = max(0, width - CellWidth.of(tag.plain))
        var out = StyledLine()
        var used = 0
        for span in line.spans {
            let (fit, w) = CellWidth.prefix(ScreenText.clean(span.text), fitting: room - used)
            if !fit.isEmpty { out.append(fit, span.style) }
            used += w
            if used >= room { break }
        }
        out.append(String(repeating: " ", count: max(0, room - used)), Style(.normal))
        for span in tag.spans { out.append(span.text, span.style) }
        return out
    }

    /// Marks every case-insensitive occurrence of `query` in a line with the match role.
    static func highlight(_ line: StyledLine, _ query: String) -> StyledLine {
        guard !query.isEmpty else { return line }
        let plain = line.plain
        var marked = [Bool](repeating: false, count: plain.count)
        var searchStart = plain.startIndex
        while let r = plain.range(of: query, options: .caseInsensitive, range: searchStart..<plain.endIndex) {
            let a = plain.distance(from: plain.startIndex, to: r.lowerBound)
            let b = plain.distance(from: plain.startIndex, to: r.upperBound)
            for i in a..<b { marked[i] = true }
            searchStart = r.upperBound
            if r.isEmpty { break }
        }
        guard marked.contains(true) else { return line }
        var out = StyledLine()
        var i = 0
        for span in line.spans {
            for ch in span.text {
                out.append(String(ch), marked[i] ? Style(.match, bold: true) : span.style)
                i += 1
            }
        }
        return out
    }

    // MARK: help

    /// The help box inside the pane area: centred, at most 78 columns wide.
    static func helpBox(_ area: Rect) -> Rect { area.inset(max(1, (area.width - 78) / 2), 1) }

    /// The help area at a terminal size: the middle of the screen, as `render` lays it out.
    static func helpBox(width: Int, height: Int) -> Rect {
        let (_, rest) = Rect(x: 0, y: 0, width: width, height: height).splitTop(1)
        return helpBox(rest.splitBottom(2).0)
    }

    /// Every line of the help for the focused pane (global keys, the pane's keys, the commands),
    /// wrapped to `width`, keeping only lines that contain `filter` (case-insensitive) when it is set.
    static func helpLines(_ s: AppState, width: Int) -> [StyledLine] {
        let keyWidth = 26
        var lines: [StyledLine] = []
        func add(_ bindings: [BindingDoc]) {
            for d in bindings {
                let (k, what) = (d.label, d.help)
                let pad = String(repeating: " ", count: max(1, keyWidth - CellWidth.of(k)))
                lines += Wrap.lines(StyledLine([Span(k, Style(.key)), Span(pad + what, Style(.help))]), width: width,
                                    indent: String(repeating: " ", count: keyWidth))
            }
        }
        add(Bindings.globalDocs)
        let paneKeys = Bindings.docs(s.pane)
        if !paneKeys.isEmpty {
            lines.append(StyledLine())
            lines.append(StyledLine("\(s.pane.title) pane", Style(.title)))
            add(paneKeys)
        }
        lines.append(StyledLine())
        lines.append(StyledLine("Commands (:)", Style(.title)))
        add(App.commands.map { BindingDoc(label: String($0.name.prefix(keyWidth - 1)), help: $0.help, hint: nil) })
        let filter = s.helpFilter?.text.lowercased() ?? ""
        if !filter.isEmpty { lines = lines.filter { $0.plain.lowercased().contains(filter) } }
        return lines
    }

    /// How far the help scrolls at a terminal size: lines beyond the box's body.
    static func helpMaxScroll(_ s: AppState) -> Int {
        let box = helpBox(width: s.width, height: s.height)
        return max(0, helpLines(s, width: box.width - 2).count - (box.height - 2))
    }

    /// The help overlay on a cleared pane area: a title line, the lines from `helpScroll`, and a last
    /// line saying how to scroll, filter and close.
    static func drawHelp(_ s: AppState, _ area: Rect, _ buf: inout CellBuffer) {
        buf.fill(area, style: Style(.normal))
        let box = helpBox(area)
        buf.fill(box, style: Style(.help))
        let lines = helpLines(s, width: box.width - 2)
        let body = max(1, box.height - 2)
        let top = min(max(0, s.helpScroll), max(0, lines.count - body))
        var title = StyledLine("Keys", Style(.title))
        if let filter = s.helpFilter { title.append("   filter: " + filter.text, Style(.key)) }
        buf.put(title, x: box.x + 1, y: box.y, limit: box.maxX - 1)
        for (i, line) in lines.dropFirst(top).prefix(body).enumerated() {
            buf.put(line, x: box.x + 1, y: box.y + 1 + i, limit: box.maxX - 1)
        }
        let below = lines.count - top - body
        var hint = below > 0 ? "↓ \(below) more · " : ""
        hint += s.helpFilter == nil ? "j k PgUp PgDn g G scroll · / filter · Esc or q closes" : "typing filters · Enter keeps it · Esc clears it"
        if lines.isEmpty { hint = "nothing matches · " + hint }
        buf.put(hint, x: box.x + 1, y: box.maxY - 1, style: Style(.dim), limit: box.maxX - 1)
    }
}
