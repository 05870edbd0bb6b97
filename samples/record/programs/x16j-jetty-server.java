import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;

import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.AbstractHandler;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The embedded Eclipse Jetty 9.4 server of the x16j recorders (compiled at run time into a
 * scratch directory as X16jJettyServer.java against Debian's jars in /usr/share/java).
 *
 *   java X16jJettyServer HOST PORT IDLE_TIMEOUT_MS LOG_FILE
 *
 * One ServerConnector (HTTP/1.1 only) with setIdleTimeout(IDLE_TIMEOUT_MS) and nothing else
 * changed. Every path answers 200 with a small JSON body (Content-Length), which carries the
 * client's own address:port (so a client that cannot see its local port, java.net.http.HttpClient,
 * learns it); a POST's body is read first. The log (one JSON object per line, epoch seconds) is the
 * server-side ground truth: "open" and "close" of every connection (Connection.Listener; "close"
 * carries how long the endpoint had been idle), and every "request" that reached the application.
 */
public class X16jJettyServer {
  private static PrintStream log;

  private static synchronized void log(String json) {
    java.time.Instant now = java.time.Instant.now();
    log.println("{\"t\":" + String.format("%d.%06d", now.getEpochSecond(), now.getNano() / 1000) + "," + json + "}");
    log.flush();
  }

  private static String remote(EndPoint e) {
    InetSocketAddress a = e.getRemoteAddress();
    return a == null ? "?" : a.getAddress().getHostAddress() + ":" + a.getPort();
  }

  public static void main(String[] a) throws Exception {
    String host = a[0];
    int port = Integer.parseInt(a[1]);
    long idleMs = Long.parseLong(a[2]);
    log = new PrintStream(new java.io.FileOutputStream(a[3], true), true, "UTF-8");

    QueuedThreadPool pool = new QueuedThreadPool(32, 4);
    Server server = new Server(pool);
    HttpConfiguration cfg = new HttpConfiguration();
    ServerConnector c = new ServerConnector(server, 1, 1, new HttpConnectionFactory(cfg));
    c.setHost(host);
    c.setPort(port);
    c.setIdleTimeout(idleMs);
    c.addBean(new Connection.Listener() {
      @Override public void onOpened(Connection conn) {
        log("\"event\":\"open\",\"remote\":\"" + remote(conn.getEndPoint()) + "\"");
      }
      @Override public void onClosed(Connection conn) {
        EndPoint e = conn.getEndPoint();
        long idleFor = e instanceof org.eclipse.jetty.io.IdleTimeout ? ((org.eclipse.jetty.io.IdleTimeout) e).getIdleFor() : -1;
        log("\"event\":\"close\",\"remote\":\"" + remote(e) + "\",\"idleForMs\":" + idleFor
            + ",\"messagesIn\":" + conn.getMessagesIn() + ",\"messagesOut\":" + conn.getMessagesOut());
      }
    });
    server.addConnector(c);
    server.setHandler(new AbstractHandler() {
      @Override
      public void handle(String target, Request base, HttpServletRequest req, HttpServletResponse resp) throws IOException {
        long n = 0;
        try (InputStream in = req.getInputStream()) {
          byte[] buf = new byte[4096];
          for (int k; (k = in.read(buf)) > 0; ) n += k;
        }
        String who = req.getRemoteAddr() + ":" + req.getRemotePort();
        log("\"event\":\"request\",\"remote\":\"" + who + "\",\"method\":\"" + req.getMethod() + "\",\"uri\":\""
            + req.getRequestURI() + "\",\"bodyBytes\":" + n);
        byte[] body = ("{\"ok\":true,\"path\":\"" + req.getRequestURI() + "\",\"client\":\"" + who + "\",\"received\":" + n + "}\n")
            .getBytes(StandardCharsets.UTF_8);
        resp.setStatus(200);
        resp.setContentType("application/json");
        resp.setContentLength(body.length);
        resp.getOutputStream().write(body);
        base.setHandled(true);
      }
    });
    server.start();
    log("\"event\":\"started\",\"jetty\":\"" + Server.getVersion() + "\",\"idleTimeoutMs\":" + c.getIdleTimeout());
    server.join();
  }
}
