/// Byte-pair merge table and merge loop (llama.cpp's llm_tokenizer_bpe_session), on integer
/// symbol ids: every symbol is a vocabulary id, or a "synthetic" id >= vocabulary size for a
/// string that appears in the merges but not in the vocabulary.
struct BPEMerges {
    struct Entry {
        let rank: Int32
        let result: Int32
    }

    /// (left id, right id) packed as left << 32 | right  ->  rank and merged symbol id.
    var table: [UInt64: Entry] = [:]

    @inline(__always)
    static func key(_ l: Int32, _ r: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: l)) << 32 | UInt64(UInt32(bitPattern: r))
    }

    @inline(__always)
    func lookup(_ l: Int32, _ r: Int32) -> Entry? {
        table[Self.key(l, r)]
    }

    private struct Bigram: HeapOrdered {
        let rank: Int32
        let left: Int32
        let right: Int32
        let leftID: Int32
        let rightID: Int32

        /// Lower rank first, then the leftmost pair.
        @inline(__always)
        func before(_ o: Bigram) -> Bool {
            rank < o.rank || (rank == o.rank && left < o.left)
        }
    }


    /// Merges `symbols` (one id per initial symbol) lowest rank first, leftmost on ties, until no
    /// adjacent pair has a merge. Returns the surviving symbol ids in order.
    func merge(_ symbols: [Int32]) -> [Int32] {
        let n = symbols.count
        if n < 2 { return symbols }
        var ids = symbols
        var prev = [Int32](repeating: -1, count: n)
        var next = [Int32](repeating: -1, count: n)
        var alive = [Bool](repeating: true, count: n)
        for i in 0..<n {
            prev[i] = Int32(i - 1)
            next[i] = i + 1 < n ? Int32(i + 1) : -1
        }
        var heap = BinaryHeap<Bigram>()
        heap.reserveCapacity(n * 2)

        @inline(__always)
        func tryAdd(_ l: Int32, _ r: Int32) {
            if l < 0 || r < 0 { return }
            let li = ids[Int(l)], ri = ids[Int(r)]
            if let e = lookup(li, ri) {
                heap.push(Bigram(rank: e.rank, left: l, right: r, leftID: li, rightID: ri))
            }
        }

        for i in 1..<n { tryAdd(Int32(i - 1), Int32(i)) }

        while !heap.isEmpty {
            let b = heap.pop()
            let l = Int(b.left), r = Int(b.right)
            // Outdated: one side was merged away or grew since this pair was queued.
            if !alive[l] || !alive[r] || ids[l] != b.leftID || ids[r] != b.rightID || next[l] != b.right {
                continue
            }
            guard let e = lookup(b.leftID, b.rightID) else { continue }
            ids[l] = e.result
            alive[r] = false
            let rn = next[r]
            next[l] = rn
            if rn >= 0 { prev[Int(rn)] = b.left }
            tryAdd(prev[l], b.left)
            tryAdd(b.left, next[l])
        }

        var result = [Int32]()
        result.reserveCapacity(n)
        var i: Int32 = 0
        while i >= 0 {
            result.append(ids[Int(i)])
            i = next[Int(i)]
        }
        return result
    }
}
