#!/usr/bin/env escript
%% Erlang's httpc (Debian erlang-inets, OTP 25, inets 8.2.2) with a per-request timeout, for
%% unanswered-request-jvm-ruby-erlang-timeouts.sh.
%%
%%   x24t-httpc.escript --base URL --log FILE --timeout-ms 3500 [--pause 0.3] [--max-seconds 40] METHOD:PATH ...
%%
%% httpc's default profile with every option at its default (keep-alive: keep_alive_timeout 120000
%% ms, max_sessions 2, no pipelining), its requests sent one at a time, PAUSE s apart, each
%% httpc:request(Method, Req, [{timeout, TIMEOUT}], []): the HTTP option `timeout` (milliseconds,
%% infinity by default) bounds the whole request; when it runs out httpc:request returns
%% {error, timeout}. POSTs carry a small form body. httpc sends no User-Agent header unless given one.
%% Bounded: every request has its timeout, and no request starts after MAX_SECONDS.
%%
%% One JSON line per request in FILE: client "erlang", method, uri, start and end (wall clock, epoch
%% s), elapsed (s), portBefore (the local port of the profile's open session before the request, from
%% httpc:which_sessions and inet:sockname; null when none), portDuring (the same, 0.3 s into the
%% request), portAfter, then status, or error (httpc's error term).
-mode(compile).

main(Args) ->
    {Opts, Steps} = parse(Args, #{pause => 0.3, max => 40.0, timeout => 3500}, []),
    ok = inets:start(),
    {ok, Log} = file:open(maps:get(log, Opts), [append]),
    T0 = wall(),
    run(Steps, Opts, Log, T0),
    ok = file:close(Log),
    halt(0).

parse(["--base", V | R], O, S) -> parse(R, O#{base => V}, S);
parse(["--log", V | R], O, S) -> parse(R, O#{log => V}, S);
parse(["--timeout-ms", V | R], O, S) -> parse(R, O#{timeout => list_to_integer(V)}, S);
parse(["--pause", V | R], O, S) -> parse(R, O#{pause => to_float(V)}, S);
parse(["--max-seconds", V | R], O, S) -> parse(R, O#{max => to_float(V)}, S);
parse([Step | R], O, S) -> parse(R, O, S ++ [Step]);
parse([], O, S) -> {O, S}.

to_float(V) -> case string:to_float(V) of {F, ""} -> F; _ -> float(list_to_integer(V)) end.

wall() -> os:system_time(microsecond) / 1.0e6.

run([], _O, _Log, _T0) -> ok;
run([Step | Rest], O, Log, T0) ->
    case wall() - T0 > maps:get(max, O) of
        true -> ok;
        false ->
            one(Step, O, Log),
            timer:sleep(round(maps:get(pause, O) * 1000)),
            run(Rest, O, Log, T0)
    end.

%% The local port of the default profile's open session, or null.
open_port() ->
    {Sessions, _, _} = httpc:which_sessions(),
    Ports = [P || S <- Sessions, {ok, {_, P}} <- [catch inet:sockname(element(5, S))]],
    case Ports of [P | _] -> P; [] -> null end.

one(Step, O, Log) ->
    [M, Path] = string:split(Step, ":"),
    Url = maps:get(base, O) ++ Path,
    Req = case M of
              "POST" -> {Url, [], "application/x-www-form-urlencoded", "order=1"};
              _ -> {Url, []}
          end,
    Self = self(),
    Before = open_port(),
    Start = wall(),
    Watch = spawn(fun() -> timer:sleep(300), Self ! {during, open_port()} end),
    Res = httpc:request(list_to_atom(string:lowercase(M)), Req, [{timeout, maps:get(timeout, O)}], []),
    End = wall(),
    During = receive {during, P} -> P after 1000 -> exit(Watch, kill), null end,
    Outcome = case Res of
                  {ok, {{_, Status, _}, _, _}} -> [{status, integer_to_list(Status)}];
                  {error, Reason} -> [{error, quote(io_lib:format("~0p", [{error, Reason}]))}]
              end,
    Fields = [{client, quote("erlang")}, {method, quote(M)}, {uri, quote(Path)},
              {start, fmt(Start)}, {'end', fmt(End)}, {elapsed, fmt(End - Start)},
              {timeoutMs, integer_to_list(maps:get(timeout, O))},
              {portBefore, port(Before)}, {portDuring, port(During)}, {portAfter, port(open_port())} | Outcome],
    Line = "{" ++ lists:join(",", [quote(atom_to_list(K)) ++ ":" ++ V || {K, V} <- Fields]) ++ "}\n",
    ok = file:write(Log, Line).

fmt(F) -> lists:flatten(io_lib:format("~.6f", [F])).
port(null) -> "null";
port(P) -> integer_to_list(P).
quote(S) -> "\"" ++ lists:flatten([case C of $" -> "\\\""; $\\ -> "\\\\"; _ -> C end || C <- lists:flatten(S)]) ++ "\"".
