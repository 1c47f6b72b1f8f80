package dev.sidegate.proxy;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import dev.sidegate.config.ServerSettings;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The stage contract: order, changing the request, short-circuiting, and how a failing stage is reported. */
class PipelineTest {
    private static final Route ROUTE = new Route("/", Set.of(), "default", true);
    private static final Exchange EXCHANGE = new Exchange(ROUTE,
                                                          new Exchange.Client(InetAddress.getLoopbackAddress(),
                                                                              InetAddress.getLoopbackAddress(), false, "h"),
                                                          "0123456789abcdef0123456789abcdef", "request-1");
    private static final ProxyRequest REQUEST = new ProxyRequest("GET", "/x", "", Headers.empty(), RequestBody.none());

    private static Pipeline pipeline(List<Stage> stages) {
        RouteTable routes = RouteTable.create(List.of(ROUTE), new ServerSettings.PathPolicy(true, true));
        return new Pipeline(routes, java.util.Map.of(ROUTE, stages), RequestObserver.NONE);
    }

    @Test
    void aResponseTimeoutSetOnTheChainReachesTheLaterStagesOnly() {
        List<String> seen = new ArrayList<>();
        Stage budget = (request, chain) -> {
            seen.add("budget saw " + chain.responseTimeout().map(Duration::toMillis).orElse(-1L));
            return chain.withResponseTimeout(Duration.ofMillis(250)).proceed(request);
        };
        Stage reader = (request, chain) -> {
            seen.add("reader saw " + chain.responseTimeout().map(Duration::toMillis).orElse(-1L));
            return chain.proceed(request);
        };
        pipeline(List.of(budget, reader, ECHO_PATH)).run(EXCHANGE, REQUEST).body().close();
        assertEquals(List.of("budget saw -1", "reader saw 250"), seen);
    }

    private static final Stage ECHO_PATH = (request, chain) -> new ProxyResponse(
            200, Headers.builder().add("X-Path", request.path()).build(),
            ResponseBody.of(request.header("X-Trail").orElse("").getBytes(StandardCharsets.UTF_8)));

    @Test
    void stagesRunInOrderAndSeeEachOthersChanges() {
        List<String> order = new ArrayList<>();
        Stage first = (request, chain) -> {
            order.add("first");
            return chain.proceed(request.withHeaders(request.headers().toBuilder().add("X-Trail", "first").build()));
        };
        Stage second = (request, chain) -> {
            order.add("second");
            String trail = request.header("X-Trail").orElseThrow() + ",second";
            ProxyResponse response = chain.proceed(request.withPath("/rewritten")
                                                           .withHeaders(request.headers().toBuilder().set("X-Trail", trail).build()));
            return response.withHeaders(response.headers().toBuilder().add("X-After", "second").build());
        };
        ProxyResponse response = pipeline(List.of(first, second, ECHO_PATH)).run(EXCHANGE, REQUEST);
        assertEquals(List.of("first", "second"), order);
        assertEquals("/rewritten", response.headers().first("X-Path").orElseThrow());
        assertEquals("second", response.headers().first("X-After").orElseThrow());
        assertEquals("first,second", new String(readAll(response), StandardCharsets.UTF_8));
    }

    @Test
    void aStageCanAnswerWithoutCallingTheRest() {
        List<String> reached = new ArrayList<>();
        Stage deny = (request, chain) -> chain.exchange().problem(Problem.of(403, "denied", "Denied", "no"));
        Stage later = (request, chain) -> {
            reached.add("later");
            return chain.proceed(request);
        };
        ProxyResponse response = pipeline(List.of(deny, later, ECHO_PATH)).run(EXCHANGE, REQUEST);
        assertEquals(403, response.status());
        assertTrue(reached.isEmpty());
        assertTrue(new String(readAll(response), StandardCharsets.UTF_8).contains(EXCHANGE.traceId()));
    }

    @Test
    void aThrowingStageIsReportedOnceByName() {
        Stage outer = new Stage() {
            @Override
            public ProxyResponse apply(ProxyRequest request, Chain chain) {
                return chain.proceed(request);
            }

            @Override
            public String name() {
                return "outer";
            }
        };
        Stage broken = new Stage() {
            @Override
            public ProxyResponse apply(ProxyRequest request, Chain chain) {
                throw new IllegalStateException("bug");
            }

            @Override
            public String name() {
                return "broken";
            }
        };
        Pipeline.StageFailure failure = assertThrows(Pipeline.StageFailure.class,
                                                     () -> pipeline(List.of(outer, broken, ECHO_PATH)).run(EXCHANGE, REQUEST));
        Problem problem = failure.problem();
        assertEquals(500, problem.status());
        assertEquals("the broken stage failed on this request", problem.detail());
    }

    private static byte[] readAll(ProxyResponse response) {
        try (ResponseBody body = response.body()) {
            return body.stream().readAllBytes();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
