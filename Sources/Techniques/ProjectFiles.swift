import Foundation

/// Finds a folder of the project (models/, themes/, organism/, ...) from the working directory or
/// from the binary's location (it sits in .build/<triple>/<config>/), so the workbench finds its
/// files however it is started.
public enum ProjectFiles {
    public static func locate(_ name: String) -> URL {
        let fm = FileManager.default
        var candidates = [URL(fileURLWithPath: fm.currentDirectoryPath)]
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            candidates.append(dir)
            dir = dir.deletingLastPathComponent()
        }
        for c in candidates where fm.fileExists(atPath: c.appendingPathComponent(name).path) {
            return c.appendingPathComponent(name)
        }
        return URL(fileURLWithPath: fm.currentDirectoryPath).appendingPathComponent(name)
    }
}
