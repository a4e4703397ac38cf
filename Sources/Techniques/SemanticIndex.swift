import CKernels
import Foundation
import Model

// Semantic search of the training corpus: every document in overlapping chunks of word pieces,
// each chunk embedded by the sentence embedder (all-MiniLM-L6-v2 by default) and stored in f16 in
// semantic.bin beside index.bin. A query is embedded the same way and compared with every chunk
// by exact cosine (the vectors are unit length, so a dot product: one SIMD pass over the file);
// a document scores as its best chunk.
//
// semantic.bin, little-endian:
//   header (32 bytes): magic "WBSEMVEC", u32 format version, u32 0, u64 body length, u64 FNV-1a 64 of
//                      the body up to the vectors
//   body: u64 corpus key (DataSearchIndex.contentKey: the shards' names, sizes and content hashes)
//         u32 document count, u32 dimension, u32 chunk pieces, u32 overlap pieces, u32 max sequence length
//         u16 embedder name length, name, u64 embedder key (SentenceEmbedder.fingerprint)
//         u32 chunk count; per chunk {u32 document, u32 UTF-8 start, u32 UTF-8 length} in the
//         document's searchable text; zero padding to a multiple of 64 bytes from the file's start
//         vectors: chunk count x dimension f16
//
// While it is built, semantic.bin.partial holds the same header fields (the checksum of the
// parameters only) and then one record per finished document {u32 document, u32 chunks, chunk
// spans, f16 vectors}; an interrupted build resumes after the last whole record.

/// A chunk of a document: where it is in the document's searchable text.
public struct ChunkSpan: Sendable, Equatable {
    public var document: Int
    public var start: Int
    public var length: Int
}

public final class SemanticIndex: @unchecked Sendable {
    public static let fileName = "semantic.bin"
    public static let formatVersion: UInt32 = 1
    static let magic = Array("WBSEMVEC".utf8)
    /// Chunks of this many word pieces, the next one starting `chunkPieces - overlapPieces` later.
    public static let defaultChunkPieces = 128
    public static let defaultOverlapPieces = 32

    public struct Parameters: Equatable, Sendable {
        public var corpusKey: UInt64
        public var documentCount: Int
        public var dimension: Int
        public var chunkPieces: Int
        public var overlapPieces: Int
        public var maxSequenceLength: Int
        public var embedderName: String
        public var embedderKey: UInt64

        func write(_ w: inout ByteWriter) {
            w.u64(corpusKey)
            w.u32(UInt32(documentCount)); w.u32(UInt32(dimension)); w.u32(UInt32(chunkPieces))
            w.u32(UInt32(overlapPieces)); w.u32(UInt32(maxSequenceLength))
            let name = Array(embedderName.utf8.prefix(200))
            w.u16(UInt16(name.count)); w.append(name)
            w.u64(embedderKey)
        }

        static func read(_ r: inout ByteReader) throws -> Parameters {
            let key = try r.u64()
            let docs = Int(try r.u32()), dim = Int(try r.u32()), chunk = Int(try r.u32()), overlap = Int(try r.u32())
            let maxLength = Int(try r.u32())
            let name = try r.string(Int(try r.u16()))
            let embedderKey = try r.u64()
            guard dim >= 1 && dim <= 8192, chunk >= 1, overlap < chunk else { throw r.fail("implausible parameters (dimension \(dim), chunk \(chunk), overlap \(overlap))") }
            return Parameters(corpusKey: key, documentCount: docs, dimension: dim, chunkPieces: chunk, overlapPieces: overlap,
                              maxSequenceLength: maxLength, embedderName: name, embedderKey: embedderKey)
        }
    }

    public let parameters: Parameters
    public let chunks: [ChunkSpan]
    /// chunks.count x dimension f16 values.
    let vectors: Data
    let vectorsOffset: Int
    public let path: String?

    public var chunkCount: Int { chunks.count }
    /// The index file's size in bytes (it is mapped whole).
    public var byteCount: Int { vectors.count }
    public var dimension: Int { parameters.dimension }

    init(parameters: Parameters, chunks: [ChunkSpan], vectors: Data, vectorsOffset: Int, path: String?) {
        self.parameters = parameters
        self.chunks = chunks
        self.vectors = vectors
        self.vectorsOffset = vectorsOffset
        self.path = path
    }

    // MARK: Loading

    public static func load(from url: URL) throws -> SemanticIndex {
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw DataSearchError.badIndex(url.path, "cannot read it")
        }
        let head = [UInt8](data.prefix(64 << 10))
        var r = ByteReader(bytes: head, position: 0, path: url.path)
        try r.need(32)
        guard Array(head[0..<8]) == magic else { throw r.fail("not a semantic index (bad magic)") }
        r.position = 8
        let version = try r.u32()
        guard version == formatVersion else { throw r.fail("format version \(version), this build reads \(formatVersion)") }
        _ = try r.u32()
        let bodyLength = try r.u64(), checksum = try r.u64()
        guard bodyLength == UInt64(data.count - 32) else { throw r.fail("body is \(data.count - 32) bytes, the header says \(bodyLength)") }
        let parameters = try Parameters.read(&r)
        let count = Int(try r.u32())
        let tableBytes = count.multipliedReportingOverflow(by: 12)
        guard !tableBytes.overflow, r.position + tableBytes.partialValue <= data.count else { throw r.fail("chunk table runs past the end") }
        // The table may be longer than the first 64 KiB read: read it from the mapping.
        let metaEnd = r.position + tableBytes.partialValue
        let meta = [UInt8](data.prefix(metaEnd))
        var fnv = FNV1a64()
        meta[32...].withUnsafeBytes { fnv.add($0) }
        guard fnv.value == checksum else { throw r.fail("checksum mismatch (the file is damaged)") }
        var t = ByteReader(bytes: meta, position: r.position, path: url.path)
        var chunks: [ChunkSpan] = []
        chunks.reserveCapacity(count)
        var previous = 0
        for _ in 0..<count {
            let d = Int(try t.u32()), start = Int(try t.u32()), length = Int(try t.u32())
            guard d < parameters.documentCount, d >= previous else { throw t.fail("chunk of document \(d) out of order") }
            previous = d
            chunks.append(ChunkSpan(document: d, start: start, length: length))
        }
        let vectorsOffset = (metaEnd + 63) / 64 * 64
        let vectorBytes = count * parameters.dimension * 2
        guard vectorsOffset + vectorBytes == data.count else {
            throw t.fail("\(data.count) bytes, expected \(vectorsOffset + vectorBytes) for \(count) vectors of \(parameters.dimension)")
        }
        return SemanticIndex(parameters: parameters, chunks: chunks, vectors: data, vectorsOffset: vectorsOffset, path: url.path)
    }

    /// The chunk size a build uses when `asked` is requested: at most what one sequence of the
    /// embedder holds besides [CLS] and [SEP].
    public static func chunkPieces(_ asked: Int, for embedder: SentenceEmbedder) -> Int {
        min(asked, embedder.maxPieces)
    }

    /// Why this index cannot serve `corpus` with `embedder`, or nil when it can.
    public func mismatch(corpus: DataSearchIndex, embedder: SentenceEmbedder?) -> String? {
        if parameters.corpusKey != corpus.contentKey || parameters.documentCount != corpus.documentCount {
            return "the corpus changed since it was built"
        }
        if let embedder, parameters.embedderKey != embedder.fingerprint || parameters.dimension != embedder.dimension {
            return "it was built with another embedding model (\(parameters.embedderName))"
        }
        return nil
    }

    // MARK: Scoring

    /// The cosine of `query` (unit length, `dimension` values) with every chunk.
    public func chunkScores(_ query: [Float]) -> [Float] {
        precondition(query.count == dimension)
        var out = [Float](repeating: 0, count: chunks.count)
        guard !chunks.isEmpty else { return out }
        vectors.withUnsafeBytes { raw in
            let rows = (raw.baseAddress! + vectorsOffset).assumingMemoryBound(to: UInt16.self)
            query.withUnsafeBufferPointer { q in
                out.withUnsafeMutableBufferPointer { o in
                    ck_dot_f16_rows(rows, Int32(chunks.count), Int32(dimension), q.baseAddress, o.baseAddress)
                }
            }
        }
        return out
    }

    /// Documents by their best chunk's cosine, best first: (document, score, chunk index).
    public func rankDocuments(_ query: [Float]) -> [(document: Int, score: Float, chunk: Int)] {
        let scores = chunkScores(query)
        var best: [Int: (Float, Int)] = [:]
        for (i, s) in scores.enumerated() {
            let d = chunks[i].document
            if let b = best[d], b.0 >= s { continue }
            best[d] = (s, i)
        }
        return best.map { ($0.key, $0.value.0, $0.value.1) }
            .sorted { $0.score > $1.score || ($0.score == $1.score && $0.document < $1.document) }
    }

    /// The vector of one chunk, as floats.
    public func vector(ofChunk i: Int) -> [Float] {
        vectors.withUnsafeBytes { raw in
            let rows = (raw.baseAddress! + vectorsOffset).assumingMemoryBound(to: UInt16.self)
            return (0..<dimension).map { ck_fp16_to_fp32(rows[i * dimension + $0]) }
        }
    }
}

// MARK: Chunking

extension SentenceEmbedder {
    /// `$WORKBENCH_EMBEDDER`, else models/all-MiniLM-L6-v2 found from the working directory or the binary.
    public static var defaultFolder: URL {
        if let dir = ProcessInfo.processInfo.environment["WORKBENCH_EMBEDDER"], !dir.isEmpty { return URL(fileURLWithPath: dir) }
        return ProjectFiles.locate("models/all-MiniLM-L6-v2")
    }

    /// Identifies the model for index headers: FNV-1a 64 of config.json, tokenizer.json, the
    /// pooling and normalisation, and the weights file's size and first MiB.
    public var fingerprint: UInt64 {
        var h = FNV1a64()
        for name in ["config.json", "tokenizer.json"] {
            if let d = try? Data(contentsOf: folder.appendingPathComponent(name)) { h.add(d) }
        }
        h.add(Data("\(pooling.rawValue) \(normalize) \(maxSequenceLength)".utf8))
        let weights = folder.appendingPathComponent("model.safetensors")
        if let handle = try? FileHandle(forReadingFrom: weights) {
            if let d = try? handle.read(upToCount: 1 << 20) { h.add(d) }
            if let end = try? handle.seekToEnd() { h.add(Data("\(end)".utf8)) }
            try? handle.close()
        }
        return h.value
    }

    /// Chunks of a text's word pieces: windows of `pieces` pieces, each starting `pieces - overlap`
    /// after the last, the last one ending at the text's end; a text without pieces has none.
    public func chunks(of text: String, pieces chunkPieces: Int, overlap: Int) -> [(ids: [Int32], start: Int, length: Int)] {
        let all = tokenizer.pieces(text)
        guard !all.isEmpty else { return [] }
        let size = min(chunkPieces, maxPieces), step = max(1, size - overlap)
        var out: [(ids: [Int32], start: Int, length: Int)] = []
        var first = 0
        while true {
            let last = min(all.count, first + size)
            let start = all[first].range.lowerBound, end = all[last - 1].range.upperBound
            out.append((all[first..<last].map(\.id), start, end - start))
            if last == all.count { break }
            first += step
        }
        return out
    }

    /// A query's embedding: the text's own when it fits one sequence; for a longer text (a
    /// transcript, a document given as an example) the normalised mean of its chunks' embeddings.
    public func embedQuery(_ text: String, overlap: Int) -> [Float] {
        let parts = chunks(of: text, pieces: maxPieces, overlap: overlap)
        if parts.count <= 1 { return embed(pieceIDs: parts.first?.ids ?? []) }
        var mean = [Float](repeating: 0, count: dimension)
        for p in parts {
            let v = embed(pieceIDs: p.ids)
            for j in 0..<dimension { mean[j] += v[j] }
        }
        SentenceEmbedder.normalizeInPlace(&mean)
        return mean
    }
}

// MARK: Building

/// Progress of a semantic index build.
public struct SemanticBuildProgress: Sendable {
    public var documentsDone: Int
    public var documents: Int
    public var chunks: Int
    public var pieces: Int
    /// Documents done by an earlier, interrupted run (resumed from the checkpoint).
    public var resumedDocuments: Int
    public var seconds: Double

    public init(documentsDone: Int, documents: Int, chunks: Int, pieces: Int, resumedDocuments: Int, seconds: Double) {
        self.documentsDone = documentsDone; self.documents = documents; self.chunks = chunks
        self.pieces = pieces; self.resumedDocuments = resumedDocuments; self.seconds = seconds
    }
}

extension SemanticIndex {
    /// Builds (or resumes building) the semantic index of `corpus` into `url`, checkpointing to
    /// `url.partial` after each document; `progress` is called after each document.
    /// `shouldStop` is polled between documents: when it says so the checkpoint is left for a later
    /// run and nil is returned.
    public static func build(corpus: DataSearchIndex, embedder: SentenceEmbedder, to url: URL,
                             chunkPieces: Int = defaultChunkPieces, overlap: Int = defaultOverlapPieces,
                             progress: (SemanticBuildProgress) -> Void = { _ in },
                             shouldStop: () -> Bool = { false }) throws -> SemanticIndex? {
        guard overlap >= 0 && overlap < chunkPieces else { throw DataSearchError.badQuery("overlap must be 0..<chunk size") }
        let params = Parameters(corpusKey: corpus.contentKey, documentCount: corpus.documentCount, dimension: embedder.dimension,
                                chunkPieces: Self.chunkPieces(chunkPieces, for: embedder), overlapPieces: overlap,
                                maxSequenceLength: embedder.maxSequenceLength, embedderName: embedder.name,
                                embedderKey: embedder.fingerprint)
        let partial = URL(fileURLWithPath: url.path + ".partial")
        var checkpoint = try Checkpoint.open(partial, parameters: params)
        let resumed = checkpoint.nextDocument
        let started = Date()
        let reader = DataSearchIndex.TextReader(corpus)
        var record = ByteWriter()
        // Documents in groups of at least `batchChunks` chunks, embedded one chunk per thread.
        let batchChunks = 16
        var d = checkpoint.nextDocument
        while d < corpus.documentCount {
            if shouldStop() { try checkpoint.close(); return nil }
            var group: [(document: Int, parts: [(ids: [Int32], start: Int, length: Int)])] = []
            var pending = 0
            while d < corpus.documentCount && pending < batchChunks {
                let text = try reader.document(d).searchableText
                let parts = embedder.chunks(of: text, pieces: params.chunkPieces, overlap: params.overlapPieces)
                group.append((d, parts))
                pending += parts.count
                d += 1
            }
            var vectors = embedder.embed(batch: group.flatMap { $0.parts.map(\.ids) })[...]
            for (document, parts) in group {
                record.bytes.removeAll(keepingCapacity: true)
                record.u32(UInt32(document)); record.u32(UInt32(parts.count))
                for p in parts { record.u32(UInt32(p.start)); record.u32(UInt32(p.length)) }
                var half = [UInt16](repeating: 0, count: params.dimension)
                for p in parts {
                    let v = vectors.removeFirst()
                    v.withUnsafeBufferPointer { src in half.withUnsafeMutableBufferPointer { ck_fp32_to_fp16_row(src.baseAddress, $0.baseAddress, Int32(v.count)) } }
                    for h in half { record.u16(h) }
                    checkpoint.pieces += p.ids.count
                }
                try checkpoint.append(record.bytes, chunks: parts.count)
                progress(SemanticBuildProgress(documentsDone: document + 1, documents: corpus.documentCount, chunks: checkpoint.chunks,
                                               pieces: checkpoint.pieces, resumedDocuments: resumed,
                                               seconds: Date().timeIntervalSince(started)))
            }
        }
        try checkpoint.close()
        try finish(partial: partial, parameters: params, to: url)
        try? FileManager.default.removeItem(at: partial)
        return try load(from: url)
    }

    /// The checkpoint file: parameters, then whole per-document records.
    struct Checkpoint {
        let handle: FileHandle
        var nextDocument: Int
        var chunks: Int
        var pieces = 0

        static func header(_ p: Parameters) -> [UInt8] {
            var body = ByteWriter()
            p.write(&body)
            var out = ByteWriter()
            out.append(Array("WBSEMPRT".utf8)); out.u32(formatVersion); out.u32(0)
            out.u64(UInt64(body.bytes.count)); out.u64(FNV1a64.hash(Data(body.bytes)))
            out.append(body.bytes)
            return out.bytes
        }

        /// Opens the checkpoint for these parameters, resuming after its last whole record; a
        /// checkpoint for other parameters (another corpus or model) is started over.
        static func open(_ url: URL, parameters p: Parameters) throws -> Checkpoint {
            let fm = FileManager.default
            let head = header(p)
            var next = 0, chunks = 0, keep = 0
            if let data = try? Data(contentsOf: url, options: .alwaysMapped), data.count >= head.count, [UInt8](data.prefix(head.count)) == head {
                keep = head.count
                var position = head.count
                let recordHeader = 8
                while position + recordHeader <= data.count {
                    let d = data.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: position, as: UInt32.self).littleEndian) }
                    let n = data.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: position + 4, as: UInt32.self).littleEndian) }
                    let length = recordHeader + n * 8 + n * p.dimension * 2
                    guard d == next, position + length <= data.count else { break }
                    position += length
                    next += 1
                    chunks += n
                    keep = position
                }
            }
            if keep == 0 {
                guard fm.createFile(atPath: url.path, contents: Data(head)) else {
                    throw DataSearchError.badIndex(url.path, "cannot write the checkpoint")
                }
                keep = head.count
            }
            guard let handle = FileHandle(forUpdatingAtPath: url.path) else {
                throw DataSearchError.badIndex(url.path, "cannot write the checkpoint")
            }
            try handle.truncate(atOffset: UInt64(keep))
            try handle.seekToEnd()
            return Checkpoint(handle: handle, nextDocument: next, chunks: chunks)
        }

        mutating func append(_ bytes: [UInt8], chunks n: Int) throws {
            try handle.write(contentsOf: bytes)
            nextDocument += 1
            chunks += n
        }

        func close() throws {
            try handle.synchronize()
            try handle.close()
        }
    }

    /// Turns a complete checkpoint into the index file (atomically).
    static func finish(partial: URL, parameters p: Parameters, to url: URL) throws {
        let data = try Data(contentsOf: partial, options: .alwaysMapped)
        var position = Checkpoint.header(p).count
        var spans = ByteWriter()
        var vectors = Data()
        var count = 0
        data.withUnsafeBytes { raw in
            func u32(_ at: Int) -> UInt32 { raw.loadUnaligned(fromByteOffset: at, as: UInt32.self).littleEndian }
            while position + 8 <= data.count {
                let d = u32(position), n = Int(u32(position + 4))
                var at = position + 8
                for _ in 0..<n {
                    spans.u32(d); spans.u32(u32(at)); spans.u32(u32(at + 4))
                    at += 8
                }
                let bytes = n * p.dimension * 2
                vectors.append(raw.baseAddress!.advanced(by: at).assumingMemoryBound(to: UInt8.self), count: bytes)
                position = at + bytes
                count += n
            }
        }
        var body = ByteWriter()
        p.write(&body)
        body.u32(UInt32(count))
        body.append(spans.bytes)
        let metaEnd = 32 + body.bytes.count
        let padded = (metaEnd + 63) / 64 * 64
        var out = ByteWriter()
        out.append(magic); out.u32(formatVersion); out.u32(0)
        out.u64(UInt64(padded - 32 + vectors.count)); out.u64(FNV1a64.hash(Data(body.bytes)))
        out.append(body.bytes)
        out.append([UInt8](repeating: 0, count: padded - metaEnd))
        var file = Data(out.bytes)
        file.append(vectors)
        try file.write(to: url, options: .atomic)
    }
}
