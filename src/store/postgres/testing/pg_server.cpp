#include "store/postgres/testing/pg_server.hpp"

#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace latchkey::store::postgres::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// kPort: the server listens on no TCP port; this only names the socket file (.s.PGSQL.<port>) in
// the private directory, so it cannot clash with anything.
constexpr int kPort = 5432;
constexpr const char* kDatabase = "latchkey_test";
constexpr auto kReadyTimeout = std::chrono::seconds(60);
constexpr auto kStopTimeout = std::chrono::seconds(20);
constexpr auto kPollPause = std::chrono::milliseconds(20);

struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};

// VersionOf returns the major version a /usr/lib/postgresql/<version> directory names, 0 if none.
int VersionOf(const fs::path& dir) {
  const std::string name = dir.filename().string();
  if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return 0;
  }
  return std::atoi(name.c_str());
}

bool HasServerBinaries(const fs::path& bin) {
  std::error_code ec;
  return fs::exists(bin / "initdb", ec) && fs::exists(bin / "postgres", ec);
}

// FindBinDir returns the directory holding initdb and postgres, or "" when there is none.
std::string FindBinDir() {
  std::error_code ec;
  fs::path best;
  int best_version = 0;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const int version = VersionOf(entry.path());
    if (version > best_version && HasServerBinaries(entry.path() / "bin")) {
      best_version = version;
      best = entry.path() / "bin";
    }
  }
  if (best_version > 0) return best.string();
  // pg_config (libpq-dev) knows where a server from the same installation would be.
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen("pg_config --bindir 2>/dev/null", "r"), pclose);
  if (!pipe) return "";
  std::array<char, 512> buffer{};
  std::string out;
  while (fgets(buffer.data(), static_cast<int>(buffer.size()), pipe.get()) != nullptr) out += buffer.data();
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return !out.empty() && HasServerBinaries(out) ? out : "";
}

// Spawn starts `argv` with stdout and stderr appended to `log_path`, in directory `dir`, as
// uid/gid when `switch_user`. With `die_with_parent`, the child gets SIGQUIT (the postmaster's
// immediate shutdown) when the calling thread exits, also on a crash. Returns the pid or -1.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& dir, const std::string& log_path,
            bool switch_user, uid_t uid, gid_t gid, bool die_with_parent) {
  // Everything the child needs is prepared before fork: between fork and exec only
  // async-signal-safe calls are allowed (the test process may have other threads).
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid != 0) return pid;  // the parent, or -1
  if (switch_user) {
    if (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0) _exit(126);
  }
  // After setuid: a change of credentials clears the parent-death signal.
  if (die_with_parent && (prctl(PR_SET_PDEATHSIG, SIGQUIT) != 0 || getppid() != parent)) _exit(126);
  if (chdir(dir.c_str()) != 0) _exit(126);
  int null_fd = open("/dev/null", O_RDONLY);
  int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (null_fd < 0 || log_fd < 0) _exit(126);
  dup2(null_fd, STDIN_FILENO);
  dup2(log_fd, STDOUT_FILENO);
  dup2(log_fd, STDERR_FILENO);
  execv(args[0], args.data());
  _exit(127);
}

// WaitExit waits up to `timeout` for `pid` to exit; true when it did (its status in *status).
bool WaitExit(pid_t pid, Clock::duration timeout, int* status) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    pid_t r = waitpid(pid, status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(kPollPause);
  }
}

std::string ReadTail(const std::string& path, std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string all = ss.str();
  return all.size() > max_bytes ? all.substr(all.size() - max_bytes) : all;
}

// Exec runs `sql` on `conninfo`; returns the first column of the last result's rows.
FixtureResult<std::vector<std::string>> ExecSql(const std::string& conninfo, const std::string& sql) {
  std::unique_ptr<PGconn, ConnDeleter> conn(PQconnectdb(conninfo.c_str()));
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
    return FixtureError{"connect to the test server failed: " +
                        std::string(conn ? PQerrorMessage(conn.get()) : "out of memory")};
  }
  std::unique_ptr<PGresult, ResultDeleter> res(PQexec(conn.get(), sql.c_str()));
  const ExecStatusType status = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return FixtureError{"query failed: " + sql + ": " + PQerrorMessage(conn.get())};
  }
  std::vector<std::string> out;
  if (status == PGRES_TUPLES_OK && PQnfields(res.get()) > 0) {
    for (int i = 0; i < PQntuples(res.get()); ++i) {
      out.emplace_back(PQgetvalue(res.get(), i, 0), static_cast<std::size_t>(PQgetlength(res.get(), i, 0)));
    }
  }
  return out;
}

}  // namespace

FixtureResult<std::unique_ptr<PgServer>> PgServer::Start() {
  std::unique_ptr<PgServer> server(new PgServer());  // the constructor is private to Start
  server->bin_dir_ = FindBinDir();
  if (server->bin_dir_.empty()) {
    return FixtureError{
        "PostgreSQL server binaries not found (no /usr/lib/postgresql/*/bin/initdb, and pg_config "
        "--bindir names none): install the postgresql package (scripts/deps.sh does)"};
  }
  if (geteuid() == 0) {
    // initdb and postgres refuse to run as root; Debian's package creates this user.
    struct passwd* pw = getpwnam("postgres");
    if (pw == nullptr) {
      return FixtureError{
          "running as root, but there is no `postgres` user to run the server as "
          "(the postgresql package creates it)"};
    }
    server->as_postgres_ = true;
    server->uid_ = pw->pw_uid;
    server->gid_ = pw->pw_gid;
  }
  std::string pattern = (fs::temp_directory_path() / "latchkey_pg_XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    return FixtureError{"mkdtemp failed: " + std::string(std::strerror(errno))};
  }
  server->dir_ = pattern;
  if (server->as_postgres_ && chown(server->dir_.c_str(), server->uid_, server->gid_) != 0) {
    return FixtureError{"chown of the temp directory failed: " + std::string(std::strerror(errno))};
  }

  const std::string initdb_log = server->dir_ + "/initdb.log";
  const pid_t initdb = Spawn({server->bin_dir_ + "/initdb", "-D", server->dir_ + "/data", "-U", "postgres",
                              "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"},
                             server->dir_, initdb_log, server->as_postgres_, server->uid_, server->gid_,
                             /*die_with_parent=*/false);
  if (initdb < 0) return FixtureError{"fork failed: " + std::string(std::strerror(errno))};
  int status = 0;
  if (!WaitExit(initdb, kReadyTimeout, &status)) {
    kill(initdb, SIGKILL);
    WaitExit(initdb, kStopTimeout, &status);
    return FixtureError{"initdb did not finish: " + ReadTail(initdb_log, 2000)};
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return FixtureError{"initdb failed: " + ReadTail(initdb_log, 2000)};
  }
  if (auto r = server->Launch(); !r) return r.error();
  auto created =
      ExecSql(server->ConnInfo() + " dbname=postgres", std::string("CREATE DATABASE ") + kDatabase);
  if (!created) return created.error();
  return server;
}

PgServer::~PgServer() {
  (void)Stop();
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

FixtureResult<void> PgServer::Launch() {
  const std::vector<std::string> argv = {bin_dir_ + "/postgres", "-D", dir_ + "/data", "-k", dir_, "-p",
                                         std::to_string(kPort),
                                         // No TCP at all: only the socket in the private directory.
                                         "-c", "listen_addresses=",
                                         // Speed over durability: the cluster is thrown away.
                                         "-F", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                                         "-c", "shared_buffers=16MB", "-c", "max_connections=100"};
  pid_ = Spawn(argv, dir_, dir_ + "/postgres.log", as_postgres_, uid_, gid_, /*die_with_parent=*/true);
  if (pid_ < 0) return FixtureError{"fork failed: " + std::string(std::strerror(errno))};
  const std::string conninfo = ConnInfo() + " dbname=postgres";
  const auto deadline = Clock::now() + kReadyTimeout;
  for (;;) {
    if (PQping(conninfo.c_str()) == PQPING_OK) return {};
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return FixtureError{"the PostgreSQL server exited at start: " + LogTail()};
    }
    if (Clock::now() >= deadline) {
      (void)Stop();
      return FixtureError{"the PostgreSQL server did not accept connections in time: " + LogTail()};
    }
    std::this_thread::sleep_for(kPollPause);
  }
}

FixtureResult<void> PgServer::Stop() {
  if (pid_ < 0) return {};
  const pid_t pid = std::exchange(pid_, -1);
  int status = 0;
  // SIGINT: fast shutdown (sessions are terminated, the cluster is checkpointed); SIGQUIT:
  // immediate shutdown (pg_ctl stop -m immediate); SIGKILL when even that hangs.
  for (int sig : {SIGINT, SIGQUIT, SIGKILL}) {
    if (kill(pid, sig) != 0 && errno == ESRCH) break;
    if (WaitExit(pid, kStopTimeout, &status)) return {};
  }
  return FixtureError{"the PostgreSQL server did not stop"};
}

FixtureResult<void> PgServer::Resume() {
  if (pid_ >= 0) return {};
  return Launch();
}

std::string PgServer::ConnInfo(const std::string& schema) const {
  std::string out = "host=" + dir_ + " port=" + std::to_string(kPort) + " user=postgres dbname=" + kDatabase;
  if (!schema.empty()) out += " application_name=" + schema + " options='-c search_path=" + schema + "'";
  return out;
}

FixtureResult<std::string> PgServer::NewSchema() {
  static std::mutex mutex;
  int n = 0;
  {
    std::lock_guard lock(mutex);
    n = ++schemas_;
  }
  std::string name = "t" + std::to_string(n);
  auto r = ExecSql(ConnInfo(), "CREATE SCHEMA " + name);
  if (!r) return r.error();
  // FixtureError is constructible from a string too: say which alternative this is.
  return FixtureResult<std::string>(boost::system::in_place_value, std::move(name));
}

FixtureResult<std::vector<std::string>> PgServer::Query(const std::string& conninfo, const std::string& sql) {
  return ExecSql(conninfo, sql);
}

std::string PgServer::LogTail() const { return ReadTail(dir_ + "/postgres.log", 2000); }

FixtureResult<PgServer*> SharedPgServer() {
  // Destroyed at exit, which stops the server and removes its directory.
  static FixtureResult<std::unique_ptr<PgServer>> server = PgServer::Start();
  if (!server) return server.error();
  return server->get();
}

}  // namespace latchkey::store::postgres::testing
