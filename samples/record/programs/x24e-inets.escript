#!/usr/bin/env escript
%% The Erlang/OTP programs of keepalive-race-inets.sh (Debian erlang-inets, OTP 25, inets 8.2.2).
%%
%% x24e-inets.escript server --host 10.99.0.2 --port 8080 --log FILE --dir DIR [--keep-alive-timeout 2]
%%   inets httpd with keep_alive_timeout set (150 s by default), everything else at its default
%%   (keep_alive true, max_keep_alive_request infinity, server_tokens minimal: "Server: inets/8.2.2";
%%   no Keep-Alive response header), its only module this script's do/1 (the httpd module API):
%%   GET -> 200 text/plain "ok <uri>", POST -> 201 application/json.
%%
%%   httpd's keep-alive idle close (httpd_request_handler, one process per connection): after each
%%   response, handle_next_request calls activate_request_timeout, erlang:send_after(1000 *
%%   keep_alive_timeout, self(), timeout): a timer of the connection's own, armed once the response
%%   was handed to the socket (gen_tcp:send returned), cancelled by the next request's first bytes.
%%   When it fires with no request begun (mfa {httpd_request, parse, _}) handle_info(timeout, State)
%%   returns {stop, normal, ...} and terminate closes the socket (FIN; RST when a request is already
%%   unread in it). The same timer, armed at accept, also limits the wait for a connection's first
%%   request. keep_alive_timeout must be an integer (seconds; httpd_conf validates is_integer).
%%
%%   One JSON line per event in FILE (t: wall clock, epoch s), the format programs/x20h-meta.py reads:
%%   "request" (the client's port from httpd's #mod.init_data peername, method, uri, status, body
%%   bytes) for each request do/1 answered; "idle-timeout" (the client's port) each time a connection
%%   process runs handle_info(timeout, ...), seen by tracing that call (erlang:trace_pattern on
%%   httpd_request_handler:handle_info/2 with first argument timeout; t: the call's trace timestamp),
%%   just before terminate closes the socket; "start" (versions, keep_alive_timeout).
%%
%% x24e-inets.escript httpc-lanes --base http://10.99.0.2:8080 --log FILE --gaps 1.95,1.985,...
%%     [--lanes 6] [--rounds 6] [--stagger 0.13] [--tag h] [--max-seconds 50]
%%   Erlang's own HTTP client, httpc, in lanes like programs/reuse_lanes.py's: LANES processes at
%%   once, lane i starting i * STAGGER s later, each with its own httpc profile (inets:start(httpc,
%%   [{profile, ...}]), every option at its default: keep_alive_timeout 120000 ms, max_sessions 2,
%%   pipeline_timeout 0 (keep-alive, no pipelining)), so one pooled connection per lane: a "warm"
%%   GET /warm/<tag>l<lane>-r<round>, then per round a pause of GAP s from the moment the previous
%%   response was read and the round's request: POST /orders?attempt=<tag>l<lane>-r<round> (JSON
%%   body) when lane + round is even, else GET /items/<tag>l<lane>-r<round>; after a failure a new
%%   warm GET before the next pause. The GAPS are dealt to the lanes round-robin. httpc itself does
%%   not send a request again that its connection lost (httpc_handler: tcp_closed with a request
%%   outstanding -> {error, socket_closed_remotely}; only requests still queued behind it are
%%   retried), and neither does this program.
%%   The local port of each request: the socket of the profile's session (httpc:which_sessions,
%%   inet:sockname) before the request (the pooled connection it goes on) and after its response.
%%   One JSON line per event in FILE: "response" (status, port, reused) and "error" (httpc's error
%%   term, port), with the fields programs/x17p-requests-lanes.py logs; "start" (versions, the
%%   profiles' options), "done" or "max-seconds".
-module(x24e_inets).
-mode(compile).
-include_lib("inets/include/httpd.hrl").
-export([main/1, do/1]).

main(["server" | Args]) -> server(Args);
main(["httpc-lanes" | Args]) -> lanes(Args).

server(Args) ->
    O = opts(Args, #{host => "127.0.0.1", port => 8080, kat => 2}),
    {ok, Fd} = file:open(maps:get(log, O), [append]),
    Log = spawn_link(fun() -> log_loop(Fd) end),
    register(x24e_log, Log),
    ok = inets:start(),
    %% the connection processes' idle-timer expiries: handle_info(timeout, State), traced
    {module, _} = code:ensure_loaded(httpd_request_handler),
    1 = erlang:trace_pattern({httpd_request_handler, handle_info, 2}, [{[timeout, '_'], [], []}], [local]),
    erlang:trace(new_processes, true, [call, monotonic_timestamp, {tracer, Log}]),
    {ok, Ip} = inet:parse_address(maps:get(host, O)),
    Dir = maps:get(dir, O),
    {ok, _} = inets:start(httpd, [{port, maps:get(port, O)}, {bind_address, Ip}, {server_name, "x24e"},
                                  {server_root, Dir}, {document_root, Dir},
                                  {keep_alive_timeout, maps:get(kat, O)}, {modules, [?MODULE]}]),
    {ok, Inets} = application:get_key(inets, vsn),
    Log ! {line, [{event, <<"start">>}, {inets, Inets}, {otp, erlang:system_info(otp_release)},
                  {erts, erlang:system_info(version)}, {keepAliveTimeout, maps:get(kat, O)}]},
    receive never -> ok end.   % until SIGTERM (the VM's default: init:stop())

opts([], O) -> O;
opts(["--host", H | T], O) -> opts(T, O#{host => H});
opts(["--port", P | T], O) -> opts(T, O#{port => list_to_integer(P)});
opts(["--log", F | T], O) -> opts(T, O#{log => F});
opts(["--dir", D | T], O) -> opts(T, O#{dir => D});
opts(["--keep-alive-timeout", S | T], O) -> opts(T, O#{kat => list_to_integer(S)});
opts(["--base", B | T], O) -> opts(T, O#{base => B});
opts(["--gaps", G | T], O) -> opts(T, O#{gaps => [num(X) || X <- string:split(G, ",", all)]});
opts(["--lanes", N | T], O) -> opts(T, O#{lanes => list_to_integer(N)});
opts(["--rounds", N | T], O) -> opts(T, O#{rounds => list_to_integer(N)});
opts(["--stagger", S | T], O) -> opts(T, O#{stagger => num(S)});
opts(["--tag", S | T], O) -> opts(T, O#{tag => S});
opts(["--max-seconds", S | T], O) -> opts(T, O#{max => num(S)}).

num(S) -> case string:to_float(S) of {F, ""} -> F; _ -> float(list_to_integer(S)) end.

%% ------------------------------------------------------------------------------------ httpc lanes

lanes(Args) ->
    O = opts(Args, #{lanes => 6, rounds => 6, stagger => 0.13, tag => "h", max => 50.0}),
    {ok, Fd} = file:open(maps:get(log, O), [append]),
    register(x24e_log, spawn_link(fun() -> log_loop(Fd) end)),
    ok = inets:start(),
    {ok, Inets} = application:get_key(inets, vsn),
    Lib = "httpc (Erlang/OTP " ++ erlang:system_info(otp_release) ++ ", inets " ++ Inets ++ ")",
    #{lanes := N, rounds := R, gaps := Gaps, stagger := Stagger} = O,
    Profiles = [begin P = list_to_atom("x24e_" ++ maps:get(tag, O) ++ integer_to_list(I)),
                      {ok, _} = inets:start(httpc, [{profile, P}]), P end || I <- lists:seq(0, N - 1)],
    {ok, Opts} = httpc:get_options([keep_alive_timeout, max_sessions, max_keep_alive_length, pipeline_timeout,
                                    max_pipeline_length], hd(Profiles)),
    x24e_log ! {line, [{event, <<"start">>}, {lib, Lib}, {lanes, N}, {rounds, R},
                       {httpcOptions, lists:flatten(io_lib:format("~0p", [Opts]))}]},
    Parent = self(),
    Lanes = [{I, P, lists:sublist([G || {K, G} <- lists:zip(lists:seq(0, length(Gaps) - 1), Gaps), K rem N =:= I], R)}
             || {I, P} <- lists:zip(lists:seq(0, N - 1), Profiles)],
    [spawn_link(fun() -> timer:sleep(round(I * Stagger * 1000)),
                         lane(#{lane => I, profile => P, lib => Lib, base => maps:get(base, O), tag => maps:get(tag, O)},
                              0, G, undefined, undefined),
                         Parent ! {lane_done, I} end) || {I, P, G} <- Lanes],
    Deadline = erlang:monotonic_time(millisecond) + round(maps:get(max, O) * 1000),
    Done = wait_lanes(N, Deadline),
    x24e_log ! {line, [{event, if Done -> <<"done">>; true -> <<"max-seconds">> end}]},
    timer:sleep(200),   % the logger's last line
    halt(if Done -> 0; true -> 4 end).

wait_lanes(0, _) -> true;
wait_lanes(N, Deadline) ->
    receive {lane_done, _} -> wait_lanes(N - 1, Deadline)
    after max(0, Deadline - erlang:monotonic_time(millisecond)) -> false
    end.

now_s() -> erlang:monotonic_time(microsecond) / 1.0e6.

%% One lane (reuse_lanes.run_lane's sequence): Port is the pooled connection's port (undefined after
%% a failure), Released the moment the previous response was read.
lane(_, _, [], _, _) -> ok;
lane(C, Rnd, [Gap | Rest], undefined, _) ->
    case send(C, [{round, Rnd}, {kind, <<"warm">>}], get, path(C, "/warm/", Rnd), none) of
        {undefined, Released} -> lane(C, Rnd + 1, Rest, undefined, Released);
        {Port, Released} -> reuse(C, Rnd, Gap, Rest, Port, Released)
    end;
lane(C, Rnd, [Gap | Rest], Port, Released) -> reuse(C, Rnd, Gap, Rest, Port, Released).

reuse(C, Rnd, Gap, Rest, Port, Released) ->
    timer:sleep(max(0, round((Gap - (now_s() - Released)) * 1000))),
    Idle = now_s() - Released,
    Ev = [{round, Rnd}, {kind, <<"reuse">>}, {gapAsked, Gap}, {idleMeasured, Idle}, {prevPort, Port}],
    {NewPort, NewReleased} = case (maps:get(lane, C) + Rnd) rem 2 of
        0 -> send(C, Ev, post, path(C, "/orders?attempt=", Rnd),
                  io_lib:format("{\"lane\": ~b, \"round\": ~b, \"item\": \"~s\"}", [maps:get(lane, C), Rnd, lists:duplicate(40, $x)]));
        1 -> send(C, Ev, get, path(C, "/items/", Rnd), none)
    end,
    lane(C, Rnd + 1, Rest, NewPort, NewReleased).

path(#{tag := Tag, lane := L}, Prefix, Rnd) -> Prefix ++ Tag ++ "l" ++ integer_to_list(L) ++ "-r" ++ integer_to_list(Rnd).

%% The port of the profile's open session (its socket), or undefined.
session_port(Profile) ->
    {Good, _, _} = httpc:which_sessions(Profile),
    case [P || S <- Good, {ok, {_, P}} <- [catch inet:sockname(element(5, S))]] of
        [P | _] -> P;
        [] -> undefined
    end.

send(#{profile := P, lib := Lib, base := Base, lane := L}, Ev, Method, Path, Body) ->
    Before = session_port(P),
    T0 = os:system_time(microsecond) / 1.0e6,
    M0 = now_s(),
    Req = case Body of
              none -> {Base ++ Path, []};
              _ -> {Base ++ Path, [], "application/json", lists:flatten(Body)}
          end,
    Res = httpc:request(Method, Req, [{timeout, 10000}], [{body_format, binary}], P),
    Done = now_s(),
    Common = [{lib, Lib}, {lane, L} | Ev] ++ [{method, string:uppercase(atom_to_list(Method))}, {uri, Path}],
    Elapsed = {elapsedMs, (Done - M0) * 1000},
    case Res of
        {ok, {{_, Status, _}, _, _}} ->
            After = session_port(P),
            x24e_log ! {line, [{event, <<"response">>} | Common] ++
                            [{status, Status}, {port, port_or_null(After)},
                             {reused, After =/= undefined andalso After =:= Before}, Elapsed]},
            {After, Done};
        {error, Reason} ->
            x24e_log ! {line, [{event, <<"error">>} | Common] ++
                            [{error, term(Reason)}, {message, term({error, Reason})}, {port, port_or_null(Before)},
                             {reused, Before =/= undefined}, {portAfter, port_or_null(session_port(P))},
                             {sentAt, T0}, Elapsed]},
            {undefined, Done}
    end.

port_or_null(undefined) -> null;
port_or_null(P) -> P.

term(T) -> lists:flatten(io_lib:format("~0p", [T])).

do(#mod{method = Method, request_uri = Uri, entity_body = Body, init_data = #init_data{peername = {Port, _}}}) ->
    {Status, Type, Out} = case Method of
                              "POST" -> {201, "application/json", "{\"ok\":true}\n"};
                              _ -> {200, "text/plain", "ok " ++ Uri ++ "\n"}
                          end,
    x24e_log ! {line, [{event, <<"request">>}, {port, Port}, {method, Method}, {uri, Uri}, {status, Status},
                       {bodyBytes, iolist_size(Body)}]},
    {proceed, [{response, {response, [{code, Status}, {content_type, Type},
                                      {content_length, integer_to_list(length(Out))}], Out}}]}.

log_loop(Fd) ->
    receive
        {line, Fields} -> write(Fd, os:system_time(microsecond) / 1.0e6, Fields);
        {trace_ts, _Pid, call, {httpd_request_handler, handle_info, [timeout, State]}, Mono} ->
            %% the call's own time (the tracer gets the message after the socket may be closed)
            At = erlang:convert_time_unit(Mono + erlang:time_offset(), native, microsecond) / 1.0e6,
            case [M || M <- tuple_to_list(State), is_record(M, mod)] of
                [#mod{init_data = #init_data{peername = {Port, Addr}}}] ->
                    Parse = [x || {httpd_request, parse, _} <- tuple_to_list(State)] =/= [],
                    write(Fd, At, [{event, <<"idle-timeout">>}, {port, Port}, {peer, peer(Addr)}, {waitingForRequest, Parse}]);
                _ -> write(Fd, At, [{event, <<"idle-timeout">>}, {port, null}])
            end;
        _ -> ok
    end,
    log_loop(Fd).

peer(Addr) when is_list(Addr) -> Addr;
peer(Addr) -> inet:ntoa(Addr).

write(Fd, T, Fields) ->
    Line = ["{", json(t, T), [[", ", json(K, V)] || {K, V} <- Fields], "}\n"],
    ok = file:write(Fd, Line).

json(K, V) -> [$", atom_to_list(K), "\": ", val(V)].
val(V) when is_float(V) -> io_lib:format("~.6f", [V]);
val(V) when is_integer(V) -> integer_to_list(V);
val(V) when is_boolean(V); V =:= null -> atom_to_list(V);
val(V) when is_binary(V) -> val(binary_to_list(V));
val(V) when is_list(V) -> [$", [esc(C) || C <- V], $"].
esc($") -> "\\\"";
esc($\\) -> "\\\\";
esc(C) when C < 32 -> io_lib:format("\\u~4.16.0b", [C]);
esc(C) -> C.
