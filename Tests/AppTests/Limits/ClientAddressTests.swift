import Testing
@testable import App

@Suite struct ClientAddressTests {
    @Test func theLimitKeyIsTheIPv4AddressOrTheIPv6Network() {
        #expect(ClientAddress.limitKey("203.0.113.7:51234") == "203.0.113.7")
        #expect(ClientAddress.limitKey("203.0.113.7:1") == ClientAddress.limitKey("203.0.113.7:2"), "the port does not count")
        #expect(ClientAddress.limitKey("[2001:db8:1:2:aaaa::1]:443") == "2001:db8:1:2::/64")
        #expect(ClientAddress.limitKey("[2001:db8:1:2:ffff:ffff:ffff:ffff]:443") == "2001:db8:1:2::/64", "one /64, one key")
        #expect(ClientAddress.limitKey("[2001:db8:1:3::1]:443") == "2001:db8:1:3::/64")
        #expect(ClientAddress.limitKey("[::1]:80") == "0:0:0:0::/64")
        #expect(ClientAddress.limitKey("[::ffff:198.51.100.4]:80") == "198.51.100.4", "IPv4 on a dual-stack socket")
        for junk in ["", "host:80", "[2001:db8::1", "[nonsense]:1", "300.1.1.1:2"] {
            #expect(ClientAddress.limitKey(junk) == nil, "\(junk)")
        }
    }
}
