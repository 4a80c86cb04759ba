import ArgumentParser

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print popi's version.")

    func run() throws {
        print("popi \(PopiVersion.current)")
    }
}
