/// What a heap orders by: `before` is a strict weak order, the element that pops first.
protocol HeapOrdered {
    func before(_ other: Self) -> Bool
}

/// A binary heap that pops the element first in `before` order: the merge queue of both the BPE
/// (lowest rank, leftmost) and the SentencePiece (highest score, leftmost) tokenizers.
struct BinaryHeap<Element: HeapOrdered> {
    private(set) var items: [Element] = []

    var isEmpty: Bool { items.isEmpty }

    mutating func reserveCapacity(_ n: Int) { items.reserveCapacity(n) }

    mutating func push(_ e: Element) {
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if !items[i].before(items[p]) { break }
            items.swapAt(i, p)
            i = p
        }
    }

    mutating func pop() -> Element {
        let top = items[0]
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            let n = items.count
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < n && items[l].before(items[m]) { m = l }
                if r < n && items[r].before(items[m]) { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return top
    }
}
