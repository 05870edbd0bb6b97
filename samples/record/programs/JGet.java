import java.net.URI;
import java.net.http.*;

/** One GET with Java's HttpClient over HTTP/1.1: prints "java ok LENGTH" or "java EXCEPTION". */
public class JGet {
  public static void main(String[] a) {
    HttpClient c = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    try {
      HttpResponse<String> r = c.send(HttpRequest.newBuilder(URI.create(a[0])).build(), HttpResponse.BodyHandlers.ofString());
      System.out.println("java ok " + r.body().length());
    } catch (Exception e) {
      System.out.println("java " + e);
    }
  }
}
