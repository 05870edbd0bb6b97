// Java's java.net.http.HttpClient (OpenJDK 17, HTTP/1.1) with a per-request timeout, for
// unanswered-request-jvm-ruby-erlang-timeouts.sh. Compiled at record time (javac -d SCRATCH this file;
// the class is not public, so the file name need not match it).
//
//   java -cp SCRATCH X24tJavaClient --base URL --log FILE --timeout-ms 2500 --pause 0.3 --max-seconds 40
//        METHOD:PATH ...
//
// One HttpClient (version HTTP_1_1, everything else at its default: one pooled keep-alive connection
// reused while idle, jdk.httpclient.keepalive.timeout 1200 s), its requests sent one at a time, each
// built with HttpRequest.newBuilder(uri).timeout(Duration.ofMillis(TIMEOUT)): the time allowed from
// send until the response headers arrive (connect included). When it runs out, send() throws
// java.net.http.HttpTimeoutException ("request timed out"). POSTs carry a small body. PAUSE s after
// each request ends, the next one starts. Bounded: every request has its timeout, and no request
// starts after MAX_SECONDS.
//
// One JSON line per request in FILE: client "java", method, uri, start and end (wall clock, epoch s),
// elapsed (s), then status, or error (the exception's class) and message. HttpClient does not tell
// its local port: the recorder takes it from the server's log (the request's URI is unique).
import java.io.FileWriter;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

class X24tJavaClient {
  static String esc(String s) {
    return s == null ? "null" : "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", " ") + "\"";
  }

  static double now() { return System.currentTimeMillis() / 1000.0; }

  public static void main(String[] argv) throws Exception {
    String base = null, log = null;
    long timeoutMs = 2500;
    double pause = 0.3, maxSeconds = 40;
    List<String> steps = new ArrayList<>();
    for (int i = 0; i < argv.length; i++) {
      switch (argv[i]) {
        case "--base": base = argv[++i]; break;
        case "--log": log = argv[++i]; break;
        case "--timeout-ms": timeoutMs = Long.parseLong(argv[++i]); break;
        case "--pause": pause = Double.parseDouble(argv[++i]); break;
        case "--max-seconds": maxSeconds = Double.parseDouble(argv[++i]); break;
        default: steps.add(argv[i]);
      }
    }
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    double t0 = now();
    try (FileWriter out = new FileWriter(log, true)) {
      for (String step : steps) {
        if (now() - t0 > maxSeconds) break;
        String method = step.substring(0, step.indexOf(':'));
        String path = step.substring(step.indexOf(':') + 1);
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofMillis(timeoutMs));
        b = method.equals("POST") ? b.POST(HttpRequest.BodyPublishers.ofString("order=1")) : b.GET();
        double start = now();
        String tail;
        try {
          HttpResponse<String> r = client.send(b.build(), HttpResponse.BodyHandlers.ofString());
          tail = "\"status\":" + r.statusCode();
        } catch (IOException e) {
          tail = "\"error\":" + esc(e.getClass().getName()) + ",\"message\":" + esc(e.getMessage());
        }
        double end = now();
        out.write(String.format("{\"client\":\"java\",\"method\":\"%s\",\"uri\":%s,\"start\":%.6f,\"end\":%.6f,\"elapsed\":%.4f,\"timeoutMs\":%d,%s}%n",
            method, esc(path), start, end, end - start, timeoutMs, tail));
        out.flush();
        Thread.sleep((long) (pause * 1000));
      }
    }
    System.exit(0);
  }
}
