import Store
import Testing
@testable import App

@Suite struct LocalAddressTests {
    @Test func loopbackIsDecidedOnTheParsedAddress() {
        for host in ["127.0.0.1", "127.1.2.3", "127.255.255.254", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "localhost", "LOCALHOST"] {
            #expect(LocalAddress.isLoopback(host), "\(host)")
        }
        for host in ["127.evil.com", "127.0.0.1.evil.com", "128.0.0.1", "0.0.0.0", "::", "10.0.0.1", "::2", "::ffff:10.0.0.1",
                     "localhost.evil.com", "", "127.1"] {
            #expect(!LocalAddress.isLoopback(host), "\(host)")
        }
    }

    @Test func aDatabaseIsLocalWhenEveryHostIsASocketOrLoopback() throws {
        func local(_ url: String, _ environment: [String: String] = [:]) throws -> Bool {
            LocalAddress.isLocal(try DatabaseConfiguration(connectionString: url), environment: environment)
        }
        #expect(try local("postgresql://popi@/postgres?host=/tmp/popi-pg.x"))
        #expect(try local("host=/var/run/postgresql dbname=popi"))
        #expect(try local("postgresql://popi@localhost:5432/popi"))
        #expect(try local("postgresql://popi@127.0.0.1/popi"))
        #expect(try local("postgresql://popi@[::1]/popi"))
        #expect(try local("dbname=popi"), "no host: libpq's local socket")
        #expect(try local("host=db.example.com hostaddr=127.0.0.1 dbname=popi"), "hostaddr is where libpq connects")
        #expect(try !local("postgresql://popi@db.example.com/popi"))
        #expect(try !local("postgresql://popi@127.evil.com/popi"))
        #expect(try !local("host=/tmp,10.0.0.5 dbname=popi"), "every host of a list counts")
        #expect(try !local("host=localhost hostaddr=10.0.0.5 dbname=popi"))
        #expect(try !local("service=production"), "a service file may name any host")
        #expect(try !local("dbname=popi", ["PGHOST": "db.example.com"]), "libpq's fallback to PGHOST")
        #expect(try local("dbname=popi", ["PGHOST": "/tmp"]))
    }
}
