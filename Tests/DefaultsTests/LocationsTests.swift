import Defaults
import Foundation
import Testing
import TestSupport

@Suite("Where zoos and reports go by default")
struct LocationsTests {
    let elsewhere = URL(fileURLWithPath: "/nonexistent-amnesia-folder")

    @Test("AMNESIA_HOME, then a checkout, then XDG_DATA_HOME (absolute only), then ~/.local/share")
    func precedence() throws {
        try withTempDir { checkout in
            try "let package = Package(\n    name: \"Amnesia\",\n)\n"
                .write(to: checkout.appendingPathComponent("Package.swift"), atomically: true, encoding: .utf8)
            let all = ["AMNESIA_HOME": "/a", "XDG_DATA_HOME": "/x", "HOME": "/h"]
            #expect(Locations(environment: all, currentFolder: checkout).victims == "/a/victims")
            #expect(Locations(environment: all, currentFolder: checkout).reports == "/a/reports")
            var rest = all
            rest["AMNESIA_HOME"] = ""
            #expect(Locations(environment: rest, currentFolder: checkout).victims == "victims")
            #expect(Locations(environment: rest, currentFolder: checkout).reports == "reports")
            #expect(Locations(environment: rest, currentFolder: elsewhere).victims == "/x/amnesia/victims")
            rest["XDG_DATA_HOME"] = "relative/data"
            #expect(Locations(environment: rest, currentFolder: elsewhere).reports == "/h/.local/share/amnesia/reports")
        }
    }

    @Test("a checkout is a folder whose Package.swift names the package Amnesia")
    func checkout() throws {
        try withTempDir { folder in
            #expect(!Locations.isCheckout(folder))
            try "let package = Package(name: \"Other\")\n".write(to: folder.appendingPathComponent("Package.swift"), atomically: true, encoding: .utf8)
            #expect(!Locations.isCheckout(folder))
            try "let package = Package(name: \"Amnesia\")\n".write(to: folder.appendingPathComponent("Package.swift"), atomically: true, encoding: .utf8)
            #expect(Locations.isCheckout(folder))
        }
    }
}
