// Which failures to connect `run` stops at at once (with the fix) instead of
// waiting for a server that is not up yet: libpq's messages as it prints them.
#include <gtest/gtest.h>

#include "store/connection.hpp"

namespace hub::store {
namespace {

TEST(ConnectFailureFix, RefusedPasswordsMissingDatabasesAndRolesAreNotWaitedFor) {
  EXPECT_EQ(ConnectFailureFix("connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  password "
                              "authentication failed for user \"hub\"\n"),
            "HUB_DATABASE_URL: the server refused the user or password (hub); fix them in HUB_DATABASE_URL "
            "(postgresql://USER:PASSWORD@host/db)");
  EXPECT_NE(ConnectFailureFix("FATAL:  database \"hubb\" does not exist\n").find("the database 'hubb' does not exist"),
            std::string::npos);
  EXPECT_NE(ConnectFailureFix("FATAL:  role \"bob\" does not exist\n").find("CREATE ROLE bob LOGIN"), std::string::npos);
  EXPECT_NE(ConnectFailureFix("fe_sendauth: no password supplied\n").find("asks for a password"), std::string::npos);
  EXPECT_NE(ConnectFailureFix("FATAL:  no pg_hba.conf entry for host \"10.0.0.1\", user \"hub\"").find("pg_hba.conf"),
            std::string::npos);
}

TEST(ConnectFailureFix, AServerThatIsNotUpYetIsWaitedFor) {
  EXPECT_EQ(ConnectFailureFix("connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n\tIs the "
                              "server running on that host and accepting TCP/IP connections?\n"),
            "");
  EXPECT_EQ(ConnectFailureFix("FATAL:  the database system is starting up\n"), "");
  EXPECT_EQ(ConnectFailureFix("could not translate host name \"db\" to address: Temporary failure in name resolution"),
            "");
}

}  // namespace
}  // namespace hub::store
