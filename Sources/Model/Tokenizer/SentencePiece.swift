import Foundation

// SentencePiece-style ("llama", llama.cpp's LLAMA_VOCAB_TYPE_SPM) tokenisation: spaces escaped to
// U+2581, then greedy bigram merging by vocabulary score, then byte fallback. The vocabulary is
// looked up by exact bytes (never Swift String equality, which treats canonically equivalent
// spellings such as "য়" and "য়" as one key; Gemma 3's vocabulary has 434 such groups).

/// An exact byte-string -> token id table: every token's UTF-8 bytes in one buffer, and an
/// open-addressing hash index over them. Lookups take a pointer and a length, so the hot loop
/// never builds a String.
struct ByteStringTable {
    /// All keys concatenated; key `i` is `storage[offsets[i] ..< offsets[i + 1]]`.
    private(set) var storage: [UInt8] = []
    private(set) var offsets: [Int32] = [0]
    /// id + 1 of the key in each slot, 0 for an empty slot.
    private var slots: [Int32] = []
    private var mask = 0

    init() {}

    /// Keys `texts[i]` -> id `i`; of two identical keys the later id wins (llama.cpp's token_to_id
    /// assignment order).
    init(_ texts: [String]) {
        var total = 0
        for t in texts { total += t.utf8.count }
        var buffer = [UInt8]()
        buffer.reserveCapacity(total)
        var starts = [Int32]()
        starts.reserveCapacity(texts.count + 1)
        starts.append(0)
        for t in texts {
            var t = t
            t.withUTF8 { buffer.append(contentsOf: $0) }
            starts.append(Int32(buffer.count))
        }
        storage = buffer
        offsets = starts
        var size = 16
        while size < texts.count * 2 { size <<= 1 }
        slots = [Int32](repeating: 0, count: size)
        mask = size - 1
        let m = mask
        storage.withUnsafeBufferPointer { st in
            offsets.withUnsafeBufferPointer { off in
                slots.withUnsafeMutableBufferPointer { sl in
                    let base = st.baseAddress ?? UnsafePointer(bitPattern: 1)!
                    for i in 0..<texts.count {
                        let s = Int(off[i]), len = Int(off[i + 1]) - s
                        var h = Int(truncatingIfNeeded: Self.hash(base + s, len)) & m
                        while true {
                            let k = Int(sl[h]) - 1
                            if k < 0 { sl[h] = Int32(i + 1); break }
                            let ks = Int(off[k]), klen = Int(off[k + 1]) - ks
                            if klen == len && (len == 0 || memcmp(base + ks, base + s, len) == 0) {
                                sl[h] = Int32(i + 1)  // a later duplicate wins
                                break
                            }
                            h = (h + 1) & m
                        }
                    }
                }
            }
        }
    }

    var count: Int { offsets.count - 1 }

    @inline(__always)
    static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for i in 0..<n {
            h = (h ^ UInt64(p[i])) &* 0x0000_0100_0000_01B3
        }
        return h ^ (h >> 29)
    }

    /// The id whose text is exactly these bytes.
    func find(_ p: UnsafePointer<UInt8>, _ n: Int) -> TokenID? {
        if slots.isEmpty { return nil }
        return storage.withUnsafeBufferPointer { st in
            offsets.withUnsafeBufferPointer { off in
                slots.withUnsafeBufferPointer { sl in
                    let base = st.baseAddress ?? UnsafePointer(bitPattern: 1)!
                    var h = Int(truncatingIfNeeded: Self.hash(p, n)) & mask
                    while true {
                        let k = Int(sl[h]) - 1
                        if k < 0 { return nil }
                        let ks = Int(off[k]), klen = Int(off[k + 1]) - ks
                        if klen == n && (n == 0 || memcmp(base + ks, p, n) == 0) { return TokenID(k) }
                        h = (h + 1) & mask
                    }
                }
            }
        }
    }

    func find(_ bytes: [UInt8]) -> TokenID? {
        bytes.withUnsafeBufferPointer { b in
            find(b.baseAddress ?? UnsafePointer(bitPattern: 1)!, b.count)
        }
    }

    func find(_ text: String) -> TokenID? {
        var text = text
        return text.withUTF8 { b in find(b.baseAddress ?? UnsafePointer(bitPattern: 1)!, b.count) }
    }

    /// Key `i`'s bytes.
    func bytes(of i: Int) -> ArraySlice<UInt8> {
        storage[Int(offsets[i]) ..< Int(offsets[i + 1])]
    }
}

/// token_to_piece(special: true) of every id, in one buffer.
struct PieceTable {
    private(set) var storage: [UInt8] = []
    private(set) var starts: [Int32] = [0]

    init() {}

    mutating func append<C: Collection>(_ piece: C) where C.Element == UInt8 {
        storage.append(contentsOf: piece)
        starts.append(Int32(storage.count))
    }

    var count: Int { starts.count - 1 }

    @inline(__always)
    func range(_ id: Int) -> Range<Int> { Int(starts[id]) ..< Int(starts[id + 1]) }

    func piece(_ id: Int) -> [UInt8] { Array(storage[range(id)]) }

    /// Appends piece `id` to `out`, first dropping up to `lstrip` leading spaces (llama.cpp's
    /// token_to_piece lstrip argument).
    @inline(__always)
    func append(_ id: Int, lstrip: Int, to out: inout [UInt8]) {
        var r = range(id)
        var k = 0
        while k < lstrip && !r.isEmpty && storage[r.lowerBound] == 0x20 {
            r = (r.lowerBound + 1) ..< r.upperBound
            k += 1
        }
        out.append(contentsOf: storage[r])
    }
}

enum SentencePiece {
    /// U+2581 LOWER ONE EIGHTH BLOCK in UTF-8: SentencePiece's stand-in for a space.
    static let spaceMark: [UInt8] = [0xE2, 0x96, 0x81]

    /// token_to_piece(special: true) of an SPM vocabulary entry: control, unknown and user-defined
    /// tokens give their raw text; normal tokens their text with "▁" as " "; byte tokens
    /// ("<0xXX>") their byte; anything else (unused, undefined) nothing.
    static func piece(text: ArraySlice<UInt8>, attr: TokenAttr) -> [UInt8] {
        if !attr.intersection([.unknown, .control, .userDefined]).isEmpty { return Array(text) }
        if attr.contains(.normal) { return unescapeSpaces(text) }
        if attr.contains(.byte) { return [byteValue(text)] }
        return []
    }

    /// "▁" -> " " (llama_unescape_whitespace).
    static func unescapeSpaces(_ text: ArraySlice<UInt8>) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(text.count)
        var i = text.startIndex
        while i < text.endIndex {
            if text[i] == 0xE2 && i + 2 < text.endIndex && text[i + 1] == 0x96 && text[i + 2] == 0x81 {
                out.append(0x20)
                i += 3
            } else {
                out.append(text[i])
                i += 1
            }
        }
        return out
    }

    /// The byte of a byte token: strtol(text[3..<5], 16) as llama.cpp's token_to_byte does
    /// (hex digits from offset 3, at most two, stopping at the first non-digit).
    static func byteValue(_ text: ArraySlice<UInt8>) -> UInt8 {
        var v = 0
        var i = text.startIndex + 3
        let end = min(text.endIndex, text.startIndex + 5)
        while i < end {
            let c = text[i]
            let d: Int
            switch c {
            case 0x30...0x39: d = Int(c) - 0x30
            case 0x41...0x46: d = Int(c) - 0x41 + 10
            case 0x61...0x66: d = Int(c) - 0x61 + 10
            default: return UInt8(truncatingIfNeeded: v)
            }
            v = v * 16 + d
            i += 1
        }
        return UInt8(truncatingIfNeeded: v)
    }

    /// The token for each byte, as llama.cpp's byte_to_token for SPM: "<0xXX>" (upper-case hex),
    /// else the one-byte string, else -1 (llama.cpp would throw; the caller uses the unknown token).
    static func byteTokens(_ index: ByteStringTable) -> [TokenID] {
        let hex = Array("0123456789ABCDEF".utf8)
        return (0..<256).map { b -> TokenID in
            let name: [UInt8] = [0x3C, 0x30, 0x78, hex[b >> 4], hex[b & 15], 0x3E]
            if let id = index.find(name) { return id }
            if let id = index.find([UInt8(b)]) { return id }
            return -1
        }
    }

    private struct Symbol {
        var start: Int32
        var n: Int32
        var prev: Int32
        var next: Int32
    }

    private struct Bigram: HeapOrdered {
        var left: Int32
        var right: Int32
        var score: Float
        var size: Int32

        /// Pops first: the higher score, then the leftmost (llm_bigram_spm::comparator).
        @inline(__always)
        func before(_ o: Bigram) -> Bool {
            score > o.score || (score == o.score && left < o.left)
        }
    }


    /// llama.cpp's llm_tokenizer_spm_session::tokenize on one raw fragment: `bytes[start ..<
    /// start + count]`, with a space put in front when `prefixSpace`, every space escaped to "▁".
    /// Symbols are UTF-8 characters (lengths from the lead byte, as unicode_len_utf8 gives them);
    /// adjacent symbols whose concatenation is a vocabulary entry are merged, highest score first
    /// (leftmost on ties); each final symbol is its token, or its bytes as byte tokens, or (no
    /// byte token) the unknown token.
    ///
    /// llama.cpp's resegment also consults a reverse-merge map for symbols that are not tokens;
    /// for valid UTF-8 (always so here: the text comes from a Swift String) such a symbol is one
    /// unmerged character and never a merge key, so that branch cannot fire and is left out.
    static func tokenize(_ bytes: [UInt8], _ start: Int, _ count: Int, prefixSpace: Bool,
                         index: ByteStringTable, scores: [Float], byteTokens: [TokenID], unknown: TokenID?,
                         into out: inout [TokenID]) {
        var text = [UInt8]()
        text.reserveCapacity(count + count / 2 + 3)
        if prefixSpace { text.append(contentsOf: spaceMark) }
        for i in start ..< start + count {
            let b = bytes[i]
            if b == 0x20 { text.append(contentsOf: spaceMark) } else { text.append(b) }
        }
        if text.isEmpty { return }

        text.withUnsafeBufferPointer { tb in
            let base = tb.baseAddress!
            let total = tb.count
            var symbols = [Symbol]()
            symbols.reserveCapacity(total)
            var offs = 0
            while offs < total {
                let lead = tb[offs]
                let len: Int
                switch lead >> 4 {
                case 0xC, 0xD: len = 2
                case 0xE: len = 3
                case 0xF: len = 4
                default: len = 1
                }
                let n = min(len, total - offs)
                let k = symbols.count
                offs += n
                symbols.append(Symbol(start: Int32(offs - n), n: Int32(n), prev: Int32(k - 1),
                                      next: offs == total ? -1 : Int32(k + 1)))
            }

            var heap = BinaryHeap<Bigram>()
            heap.reserveCapacity(symbols.count)
            func tryAdd(_ left: Int32, _ right: Int32) {
                if left < 0 || right < 0 { return }
                let l = symbols[Int(left)], r = symbols[Int(right)]
                let size = Int(l.n + r.n)
                guard let id = index.find(base + Int(l.start), size), Int(id) < scores.count else { return }
                heap.push(Bigram(left: left, right: right, score: scores[Int(id)], size: Int32(size)))
            }
            if symbols.count > 1 {
                for i in 1 ..< symbols.count { tryAdd(Int32(i - 1), Int32(i)) }
            }
            while !heap.isEmpty {
                let bigram = heap.pop()
                let li = Int(bigram.left), ri = Int(bigram.right)
                let ln = symbols[li].n, rn = symbols[ri].n
                if ln == 0 || rn == 0 || ln + rn != bigram.size { continue }
                symbols[li].n = ln + rn
                symbols[ri].n = 0
                let rnext = symbols[ri].next
                symbols[li].next = rnext
                if rnext >= 0 { symbols[Int(rnext)].prev = bigram.left }
                tryAdd(symbols[li].prev, bigram.left)
                tryAdd(bigram.left, symbols[li].next)
            }

            var i: Int32 = 0
            while i != -1 {
                let s = symbols[Int(i)]
                if let id = index.find(base + Int(s.start), Int(s.n)) {
                    out.append(id)
                } else {
                    for j in 0 ..< Int(s.n) {
                        let t = byteTokens[Int(tb[Int(s.start) + j])]
                        if t >= 0 { out.append(t) } else if let unknown { out.append(unknown) }
                    }
                }
                i = s.next
            }
        }
    }
}

/// Which bytes and adjacent byte pairs occur in a text: a quick, exact "cannot contain" test for
/// the special-token partition.
struct BytePairSet {
    private var singles = [UInt64](repeating: 0, count: 4)
    private var pairs = [UInt64](repeating: 0, count: 1024)

    init(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { b in
            singles.withUnsafeMutableBufferPointer { s in
                pairs.withUnsafeMutableBufferPointer { p in
                    for i in 0..<b.count {
                        let x = Int(b[i])
                        s[x >> 6] |= 1 << UInt64(x & 63)
                        if i + 1 < b.count {
                            let k = x << 8 | Int(b[i + 1])
                            p[k >> 6] |= 1 << UInt64(k & 63)
                        }
                    }
                }
            }
        }
    }

    /// False only when `pattern` certainly does not occur in the text.
    func mayContain(_ pattern: [UInt8]) -> Bool {
        let m = pattern.count
        if m == 0 { return true }
        if m == 1 {
            let x = Int(pattern[0])
            return singles[x >> 6] & (1 << UInt64(x & 63)) != 0
        }
        for i in 0 ..< m - 1 {
            let k = Int(pattern[i]) << 8 | Int(pattern[i + 1])
            if pairs[k >> 6] & (1 << UInt64(k & 63)) == 0 { return false }
        }
        return true
    }
}
