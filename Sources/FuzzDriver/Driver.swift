import Foundation
#if canImport(Glibc)
import Glibc
#endif
import FuzzTargets
#if WORKBENCH_LIBFUZZER
import CFuzzer
#endif

// workbench-fuzz: the fuzz targets' driver.
//   workbench-fuzz list                        the targets
//   workbench-fuzz replay TARGET [PATH ...]    every file given (folders: every file inside; none:
//                                              the target's seeds and saved crashes); exit 1 on a finding
//   workbench-fuzz run TARGET [libFuzzer args] coverage-guided fuzzing, in the build `make fuzz` makes
//                                              (-sanitize=address, sanitizer coverage, libFuzzer)

@main
struct Driver {
    static func main() {
        var args = Array(CommandLine.arguments.dropFirst())
        guard let command = args.first else { usage() }
        args.removeFirst()
        switch command {
        case "list":
            for t in FuzzTargets.all { print("\(t.name)\t\(t.summary)") }
        case "replay":
            guard let name = args.first else { usage() }
            let target = lookup(name)
            exit(replay(target, paths: Array(args.dropFirst())))
        case "run":
            guard let name = args.first else { usage() }
            run(lookup(name), libFuzzerArguments: Array(args.dropFirst()))
        default:
            usage()
        }
    }

    static func usage() -> Never {
        FileHandle.standardError.write(Data("""
            usage: workbench-fuzz list
                   workbench-fuzz replay TARGET [FILE|DIR ...]
                   workbench-fuzz run TARGET [libFuzzer flags] [CORPUS_DIR ...]   (make fuzz's build)

            """.utf8))
        exit(2)
    }

    static func lookup(_ name: String) -> FuzzTarget {
        guard let t = FuzzTargets.named(name) else {
            FileHandle.standardError.write(Data("workbench-fuzz: no target \(FuzzFinding.quote(name)) (targets: \(FuzzTargets.all.map(\.name).joined(separator: " ")))\n".utf8))
            exit(2)
        }
        return t
    }

    /// Runs every input; a finding is printed and counted, a crash ends the process after the
    /// line naming the input (stdout is flushed before each).
    static func replay(_ target: FuzzTarget, paths: [String]) -> Int32 {
        var files: [String] = []
        let roots = paths.isEmpty
            ? [FuzzTargets.seedDirectory(target.name).path, FuzzTargets.crashDirectory(target.name).path] : paths
        for root in roots {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root, isDirectory: &isDir) else {
                if paths.isEmpty { continue }
                FileHandle.standardError.write(Data("workbench-fuzz: no such file \(root)\n".utf8))
                return 2
            }
            if isDir.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
                files += names.filter { !$0.hasPrefix(".") && $0 != "README.md" }.sorted().map { root + "/" + $0 }
            } else {
                files.append(root)
            }
        }
        var findings = 0
        for file in files {
            print("\(target.name): \(file)")
            fflush(stdout)
            guard let data = FileManager.default.contents(atPath: file) else { continue }
            do { try target([UInt8](data)) } catch {
                print("  FINDING: \(error)")
                findings += 1
            }
        }
        print("\(target.name): \(files.count) inputs, \(findings) findings")
        return findings == 0 ? 0 : 1
    }

    nonisolated(unsafe) static var current: FuzzTarget?

    static func run(_ target: FuzzTarget, libFuzzerArguments: [String]) -> Never {
        #if WORKBENCH_LIBFUZZER
        current = target
        var argv0 = [CommandLine.arguments[0]]
        if !libFuzzerArguments.contains(where: { $0.hasPrefix("-max_len=") }) { argv0.append("-max_len=\(target.maxLength)") }
        let all = argv0 + libFuzzerArguments
        var cStrings: [UnsafeMutablePointer<CChar>?] = all.map { strdup($0) } + [nil]
        var argc = Int32(all.count)
        let status = cStrings.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = buffer.baseAddress
            return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
                let raw = UnsafeRawBufferPointer(start: data, count: size)
                do { try Driver.current!([UInt8](raw)) } catch {
                    FileHandle.standardError.write(Data("FINDING in \(Driver.current!.name): \(error)\n".utf8))
                    abort()  // libFuzzer saves the input as a crash
                }
                return 0
            }
        }
        exit(status)
        #else
        _ = target
        _ = libFuzzerArguments
        FileHandle.standardError.write(Data("workbench-fuzz: this build has no libFuzzer; run `make fuzz` (or `workbench-fuzz replay`)\n".utf8))
        exit(2)
        #endif
    }
}
