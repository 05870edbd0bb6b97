import java.net.URI;
import java.net.http.*;
import java.time.Duration;

/** N GETs with Java's HttpClient, connectTimeout(MS): one line per request, "java I EXCEPTION SECONDS" (JConnectTimeout URL MS N). */
public class JConnectTimeout {
  public static void main(String[] a) {
    HttpClient c = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofMillis(Long.parseLong(a[1]))).build();
    for (int i = 0; i < Integer.parseInt(a[2]); i++) {
      long t0 = System.nanoTime();
      try {
        HttpResponse<String> r = c.send(HttpRequest.newBuilder(URI.create(a[0] + "/java" + i)).build(), HttpResponse.BodyHandlers.ofString());
        System.out.printf("java %d status %d%n", i, r.statusCode());
      } catch (Exception e) {
        System.out.printf("java %d %s %.3f%n", i, e.getClass().getSimpleName(), (System.nanoTime() - t0) / 1e9);
      }
    }
  }
}
