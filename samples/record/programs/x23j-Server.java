import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.FileOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * The JDK's built-in HTTP server (com.sun.net.httpserver.HttpServer, module jdk.httpserver) of
 * keepalive-race-jdk-httpserver.sh, compiled at record time into the scratch directory as
 * X23jServer.java. One context "/": GET answers 200, POST reads its body and answers 201, each with a
 * small JSON body naming the client port the server saw (java.net.http.HttpClient does not tell its
 * local port). No response header is added: the server's own defaults only (Date, Content-length;
 * no Server header). Its idle keep-alive connections are closed by the server's own timer
 * (sun.net.httpserver.idleInterval, sun.net.httpserver.clockTick: set on the java command line).
 *
 *   java X23jServer HOST PORT LOG
 *
 * One JSON object per line to LOG (t: epoch seconds): "created" (just before HttpServer.create: the
 * idle timer, a java.util.Timer, is created and scheduled with the clock tick as delay and period in
 * the server's constructor), "started", "request" (port, method, uri, status, body bytes) per request,
 * and "idle-closed" per "Closed idle connection" TRACE event of the server's own logger
 * ("com.sun.net.httpserver", System.Logger backed by java.util.logging): it is logged by the
 * idle-timeout task right after it closed the channel, so the channel no longer names its peer.
 */
public class X23jServer {
  private static PrintStream log;

  private static String now() {
    java.time.Instant i = java.time.Instant.now();
    return String.format("%d.%06d", i.getEpochSecond(), i.getNano() / 1000);
  }

  private static synchronized void event(String json) {
    log.println("{\"t\":" + now() + "," + json + "}");
    log.flush();
  }

  private static String q(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  // Kept strongly reachable: java.util.logging holds its loggers weakly.
  private static final Logger SERVER_LOGGER = Logger.getLogger("com.sun.net.httpserver");

  public static void main(String[] args) throws Exception {
    log = new PrintStream(new FileOutputStream(args[2], true), true, StandardCharsets.UTF_8);
    SERVER_LOGGER.setLevel(Level.ALL);
    SERVER_LOGGER.setUseParentHandlers(false);
    SERVER_LOGGER.addHandler(new Handler() {
      @Override public void publish(LogRecord r) {
        String m = r.getMessage();
        if (m != null && m.startsWith("Closed idle connection")) {
          event("\"event\":\"idle-closed\",\"thread\":" + q(Thread.currentThread().getName()) + ",\"message\":" + q(m));
        }
      }
      @Override public void flush() {}
      @Override public void close() {}
    });
    event("\"event\":\"created\",\"java\":" + q(System.getProperty("java.runtime.version"))
        + ",\"idleInterval\":" + q(String.valueOf(System.getProperty("sun.net.httpserver.idleInterval")))
        + ",\"clockTick\":" + q(String.valueOf(System.getProperty("sun.net.httpserver.clockTick"))));
    HttpServer server = HttpServer.create(new InetSocketAddress(args[0], Integer.parseInt(args[1])), 64);
    server.createContext("/", X23jServer::handle);
    server.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(16));
    server.start();
    event("\"event\":\"started\"");
    Runtime.getRuntime().addShutdownHook(new Thread(() -> event("\"event\":\"stopping\"")));
  }

  private static void handle(HttpExchange ex) throws java.io.IOException {
    String method = ex.getRequestMethod();
    int n = 0;
    try (InputStream in = ex.getRequestBody()) {
      byte[] buf = new byte[4096];
      for (int k; (k = in.read(buf)) > 0; ) n += k;
    }
    int port = ex.getRemoteAddress().getPort();
    int status = "POST".equals(method) ? 201 : 200;
    byte[] body = ("{\"ok\":true,\"clientPort\":" + port + "}\n").getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    event("\"event\":\"request\",\"port\":" + port + ",\"method\":" + q(method) + ",\"uri\":" + q(ex.getRequestURI().toString())
        + ",\"status\":" + status + ",\"bodyBytes\":" + n);
    ex.sendResponseHeaders(status, body.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(body);
    }
  }
}
