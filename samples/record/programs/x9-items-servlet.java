// A small servlet for the round-9 Tomcat recorders: GET and POST /items/* answer a short JSON
// body with Content-Length (POST bodies are read and counted); /sleep/<seconds>/* sleeps first
// (bounded to 20 s). Compiled by lib-x9.sh (javac against Tomcat's servlet-api.jar) into the
// scratch webapp; Tomcat's access log (with %D and %X) is the server-side ground truth.
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

public class X9ItemsServlet extends HttpServlet {
  private void answer(HttpServletRequest req, HttpServletResponse resp) throws IOException {
    long received = 0;
    byte[] buf = new byte[4096];
    try (InputStream in = req.getInputStream()) {
      int n;
      while ((n = in.read(buf)) > 0) received += n;
    }
    String path = req.getRequestURI();
    String[] parts = path.split("/");
    if (parts.length > 2 && parts[1].equals("sleep")) {
      try {
        Thread.sleep((long) (Math.min(Double.parseDouble(parts[2]), 20.0) * 1000));
      } catch (InterruptedException | NumberFormatException e) {
        // answer anyway
      }
    }
    byte[] body = ("{\"path\":\"" + path + "\",\"received\":" + received + "}\n").getBytes(StandardCharsets.UTF_8);
    resp.setStatus(200);
    resp.setContentType("application/json");
    resp.setContentLength(body.length);
    resp.getOutputStream().write(body);
  }

  @Override
  protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
    answer(req, resp);
  }

  @Override
  protected void doPost(HttpServletRequest req, HttpServletResponse resp) throws IOException {
    answer(req, resp);
  }
}
