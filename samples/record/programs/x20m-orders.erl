%% The POST handler of keepalive-race-yaws (round 20m; programs/x20m-lib.sh x20m_yaws_start): a Yaws
%% appmod mounted on /orders (yaws.conf `appmods = <orders, x20m-orders>`). It answers 201 with a
%% small JSON body and appends one JSON line per request to the file named by the environment
%% variable X20M_SERVER_LOG: the wall-clock time, the client's port (inet:peername of the request's
%% socket), method, URI (path and query, as the request line has them), status and body size; the
%% meta writer (x19l-meta.py races) checks that no raced request reached it.
-module('x20m-orders').
-export([out/1]).
-include_lib("yaws/include/yaws_api.hrl").

out(Arg) ->
    Req = Arg#arg.req,
    Method = Req#http_request.method,
    {abs_path, Uri} = Req#http_request.path,
    Port = case inet:peername(Arg#arg.clisock) of
               {ok, {_Ip, P}} -> integer_to_list(P);
               _ -> "null"
           end,
    Body = case Arg#arg.clidata of
               B when is_binary(B) -> B;
               _ -> <<>>
           end,
    Now = os:system_time(microsecond),
    Line = io_lib:format("{\"event\":\"request\",\"t\":~B.~6..0B,\"port\":~s,\"method\":\"~s\",\"uri\":\"~s\",\"status\":201,\"bodyBytes\":~B}~n",
                         [Now div 1000000, Now rem 1000000, Port, Method, Uri, byte_size(Body)]),
    case os:getenv("X20M_SERVER_LOG") of
        false -> ok;
        File -> ok = file:write_file(File, Line, [append])
    end,
    [{status, 201}, {header, {content_type, "application/json"}}, {html, "{\"ok\":true}\n"}].
