%% pg_bench: the Erlang/OTP side of `scripts/bench groups`. It measures OTP's kernel `pg`
%% (one scope, `pg:start_link/1` on both nodes) between two Erlang nodes on the same host,
%% connected over loopback. scripts/lib/pg_bench.sh compiles this module, starts node B with
%% `-run pg_bench node_b ANode` and node A with `-run pg_bench node_a BNode OutFile Secs Run`;
%% node A drives every phase (it spawns the processes it needs on B) and writes one JSON line.
%%
%% Phases, in this order, each with its own groups:
%%   remote_sends_per_s      16 members of G on B; one sender on A, for Secs seconds, per
%%                           message: Members = pg:get_members(Scope, G), a uniformly random
%%                           member, send it a 200-byte binary. Members count what they get;
%%                           after the last message the sender sends each member `done`
%%                           (same sender, same receiver: it arrives after the data), and
%%                           the member answers with its count and the time it saw `done`.
%%                           Figure: messages received / (last receive - first send).
%%   half_local_sends_per_s  the same with 8 members on A and 8 on B, all receipts counted.
%%   remote_latency_p50/p99_us
%%                           16 members on B; the sender on A paces 10,000 msgs/s for 3 s
%%                           (it wakes each millisecond and sends the ~10 messages then due),
%%                           each message {os:system_time(ns) read just before the send,
%%                           200-byte binary}; the member stores now - stamp.
%%   join_visible_p50/p99_us a process on B holds pg:monitor_scope/1; a process on A joins
%%                           1,000 fresh processes, one at a time, each into its own group
%%                           {join1, I}, stamping os:system_time(ns) just before pg:join/3,
%%                           then sleeping to the next millisecond. Figure: arrival of the
%%                           join notification on B - stamp on A.
%%   joins_10k_visible_ms    10,000 fresh processes on A, process I joins group
%%                           {bulk, I rem 100} (100 groups of 100), one pg:join/3 call each,
%%                           back to back. Figure: from just before the first call on A to
%%                           B's scope monitor having seen all 10,000 joined pids.
%% Both nodes read the same OS clock (os:system_time/1), so cross-node differences are sound.
%% Without pg:monitor_scope/1 (OTP < 25.1) the last two phases report null: they are not
%% replaced by polling.
-module(pg_bench).

-export([node_a/1, node_b/1]).
%% Entry points of processes spawned on the other node.
-export([counter_init/3, latency_init/3, join_watch_init/3, bulk_watch_init/3, idle/0]).

-define(SCOPE, chorus_pg_bench).
-define(PAYLOAD_BYTES, 200).
-define(MEMBERS, 16).
-define(LATENCY_RATE, 10000).       % messages per second
-define(LATENCY_MS, 3000).
-define(JOINS_ONE_BY_ONE, 1000).
-define(BULK_JOINS, 10000).
-define(BULK_GROUPS, 100).
-define(REPLY_TIMEOUT_MS, 120000).  % a drain or a phase that takes longer is a failure

%%--------------------------------------------------------------------------------------------
%% Node B: start the scope and stay up while node A is connected.

node_b([ANodeStr]) ->
    ANode = list_to_atom(ANodeStr),
    {ok, _} = pg:start_link(?SCOPE),
    ok = net_kernel:monitor_nodes(true),
    case lists:member(ANode, nodes()) of
        true -> ok;
        false ->
            receive {nodeup, ANode} -> ok
            after 30000 ->
                log("node B: node A ~s never connected", [ANode]),
                erlang:halt(3)
            end
    end,
    %% Node A disconnects when it is done (or dies): then this node stops too.
    receive {nodedown, ANode} -> erlang:halt(0) end.

%%--------------------------------------------------------------------------------------------
%% Node A: run every phase against node B and write the JSON line to OutFile.

node_a([BNodeStr, OutFile, SecsStr, RunStr]) ->
    BNode = list_to_atom(BNodeStr),
    Secs = list_to_number(SecsStr),
    Run = list_to_integer(RunStr),
    %% A hung phase must not hang the script: give up well after the longest normal run.
    MaxMs = round(4 * Secs * 1000) + ?REPLY_TIMEOUT_MS,
    spawn(fun() ->
                  receive after MaxMs ->
                          log("node A: gave up after ~b ms", [MaxMs]),
                          erlang:halt(2)
                  end
          end),
    try
        Line = run_all(BNode, Secs, Run),
        ok = file:write_file(OutFile, [Line, $\n]),
        erlang:disconnect_node(BNode),
        erlang:halt(0)
    catch
        Class:Reason:Stack ->
            log("node A: run failed: ~p:~p~n~p", [Class, Reason, Stack]),
            erlang:halt(1)
    end.

run_all(BNode, Secs, Run) ->
    {ok, _} = pg:start_link(?SCOPE),
    connect(BNode, 100),
    wait_for_remote_scope(BNode, 100),
    DurationMs = round(Secs * 1000),
    Payload = rand:bytes(?PAYLOAD_BYTES),

    log("remote sends: ~b members on B, ~b ms of sending", [?MEMBERS, DurationMs]),
    Remote = throughput(remote, 0, ?MEMBERS, BNode, Payload, DurationMs),
    log("half-local sends: ~b members on A, ~b on B", [?MEMBERS div 2, ?MEMBERS div 2]),
    Half = throughput(half_local, ?MEMBERS div 2, ?MEMBERS div 2, BNode, Payload, DurationMs),
    log("remote latency: ~b msgs/s for ~b ms", [?LATENCY_RATE, ?LATENCY_MS]),
    {LatP50, LatP99} = latency(BNode, Payload),
    HasMonitor = has_monitor_scope(),
    {JoinP50, JoinP99} =
        case HasMonitor of
            true ->
                log("join visibility: ~b joins one at a time", [?JOINS_ONE_BY_ONE]),
                join_visible(BNode);
            false ->
                log("join visibility: pg:monitor_scope/1 missing (OTP < 25.1): null", []),
                {null, null}
        end,
    BulkMs =
        case HasMonitor of
            true ->
                log("bulk joins: ~b joins over ~b groups", [?BULK_JOINS, ?BULK_GROUPS]),
                bulk_joins(BNode);
            false -> null
        end,
    json([{impl, {string, "erlang"}},
          {run, Run},
          {otp_release, {string, erlang:system_info(otp_release)}},
          {erts_version, {string, erlang:system_info(version)}},
          {remote_sends_per_s, Remote},
          {half_local_sends_per_s, Half},
          {remote_latency_p50_us, LatP50},
          {remote_latency_p99_us, LatP99},
          {join_visible_p50_us, JoinP50},
          {join_visible_p99_us, JoinP99},
          {joins_10k_visible_ms, BulkMs}]).

connect(BNode, 0) -> error({cannot_connect, BNode});
connect(BNode, Tries) ->
    case net_kernel:connect_node(BNode) of
        true -> ok;
        _ -> receive after 100 -> connect(BNode, Tries - 1) end
    end.

wait_for_remote_scope(BNode, 0) -> error({no_scope_on, BNode});
wait_for_remote_scope(BNode, Tries) ->
    case erpc:call(BNode, erlang, whereis, [?SCOPE]) of
        Pid when is_pid(Pid) -> ok;
        undefined -> receive after 100 -> wait_for_remote_scope(BNode, Tries - 1) end
    end.

has_monitor_scope() ->
    {module, pg} = code:ensure_loaded(pg),
    erlang:function_exported(pg, monitor_scope, 1).

%%--------------------------------------------------------------------------------------------
%% Throughput: random-member sends, counted at the members.

throughput(Name, NLocal, NRemote, BNode, Payload, DurationMs) ->
    Group = {Name, erlang:unique_integer([positive])},
    Self = self(),
    Local = [spawn_link(?MODULE, counter_init, [Self, ?SCOPE, Group])
             || _ <- lists:seq(1, NLocal)],
    Remote = [spawn_link(BNode, ?MODULE, counter_init, [Self, ?SCOPE, Group])
              || _ <- lists:seq(1, NRemote)],
    Members = Local ++ Remote,
    [receive {joined, M} -> ok after ?REPLY_TIMEOUT_MS -> error({no_join, M}) end
     || M <- Members],
    wait_members(Group, NLocal + NRemote),
    Ref = make_ref(),
    Sender = spawn_link(fun() -> Self ! {Ref, send_for(Group, Payload, DurationMs, Ref)} end),
    {Sent, FirstSend, SendEnd} =
        receive {Ref, R} -> R after ?REPLY_TIMEOUT_MS -> error(sender_timeout) end,
    %% The sender has already sent `done` to every member (after its last data message).
    Replies = [receive {Ref, M, Count, At} -> {Count, At}
               after ?REPLY_TIMEOUT_MS -> error({no_drain, M})
               end || M <- Members],
    unlink(Sender),
    Received = lists:sum([C || {C, _} <- Replies]),
    LastReceive = lists:max([At || {_, At} <- Replies]),
    Received =:= Sent orelse error({lost_messages, Sent, Received}),
    Seconds = (LastReceive - FirstSend) / 1.0e9,
    SendSeconds = (SendEnd - FirstSend) / 1.0e9,
    log("  ~p: ~b messages, sent in ~.3f s (~b/s at the sender), all received after ~.3f s",
        [Name, Received, SendSeconds, round(Sent / SendSeconds), Seconds]),
    [unlink(M) || M <- Members],
    round(Received / Seconds).

%% The sender: runs in its own process, so nothing else sits in its mailbox. Once done, it
%% sends {done, Ref} to every member; a member answers its starter, tagged with Ref.
send_for(Group, Payload, DurationMs, Ref) ->
    End = erlang:monotonic_time(millisecond) + DurationMs,
    First = os:system_time(nanosecond),
    Sent = send_loop(Group, Payload, End, 0),
    SendEnd = os:system_time(nanosecond),
    [M ! {done, Ref} || M <- pg:get_members(?SCOPE, Group)],
    {Sent, First, SendEnd}.

%% Every message: get_members, pick one at random, send. The clock is read every 256 sends.
send_loop(Group, Payload, End, N) ->
    Members = pg:get_members(?SCOPE, Group),
    lists:nth(rand:uniform(length(Members)), Members) ! Payload,
    N1 = N + 1,
    case N1 band 255 =:= 0 andalso erlang:monotonic_time(millisecond) >= End of
        true -> N1;
        false -> send_loop(Group, Payload, End, N1)
    end.

counter_init(Parent, Scope, Group) ->
    ok = pg:join(Scope, Group, self()),
    Parent ! {joined, self()},
    counter_loop(Parent, 0).

counter_loop(Parent, Count) ->
    receive
        Bin when is_binary(Bin) -> counter_loop(Parent, Count + 1);
        {done, Ref} -> Parent ! {Ref, self(), Count, os:system_time(nanosecond)}
    end.

wait_members(Group, N) -> wait_members(Group, N, 1000).

wait_members(Group, N, 0) -> error({members_not_visible, Group, N});
wait_members(Group, N, Tries) ->
    case length(pg:get_members(?SCOPE, Group)) of
        N -> ok;
        _ -> receive after 5 -> wait_members(Group, N, Tries - 1) end
    end.

%%--------------------------------------------------------------------------------------------
%% One-way latency at a paced rate.

latency(BNode, Payload) ->
    Group = {latency, erlang:unique_integer([positive])},
    Self = self(),
    Members = [spawn_link(BNode, ?MODULE, latency_init, [Self, ?SCOPE, Group])
               || _ <- lists:seq(1, ?MEMBERS)],
    [receive {joined, M} -> ok after ?REPLY_TIMEOUT_MS -> error({no_join, M}) end
     || M <- Members],
    wait_members(Group, ?MEMBERS),
    Ref = make_ref(),
    Total = ?LATENCY_RATE * ?LATENCY_MS div 1000,
    IntervalNs = 1000000000 div ?LATENCY_RATE,
    Sender = spawn_link(
               fun() ->
                       T0 = erlang:monotonic_time(nanosecond),
                       paced_loop(Group, Payload, T0, IntervalNs, 0, Total),
                       [M ! {done, Ref} || M <- pg:get_members(?SCOPE, Group)],
                       Self ! {Ref, sent}
               end),
    receive {Ref, sent} -> ok after ?REPLY_TIMEOUT_MS -> error(sender_timeout) end,
    unlink(Sender),
    Samples = lists:append([receive {Ref, M, Ls} -> Ls
                            after ?REPLY_TIMEOUT_MS -> error({no_drain, M})
                            end || M <- Members]),
    [unlink(M) || M <- Members],
    length(Samples) =:= Total orelse error({lost_messages, Total, length(Samples)}),
    Sorted = lists:sort(Samples),
    log("  ~b samples, min ~.1f us, max ~.1f us",
        [Total, hd(Sorted) / 1000, lists:last(Sorted) / 1000]),
    {percentile_us(Sorted, 0.50), percentile_us(Sorted, 0.99)}.

%% Message I is due at T0 + I * Interval. Send every message that is due (each stamped just
%% before its own send), then sleep until the next millisecond tick: at 10,000 msgs/s, bursts
%% of 10 once a millisecond (Erlang timers have millisecond resolution; spinning instead
%% would take a whole core from the two nodes).
paced_loop(_Group, _Payload, _T0, _IntervalNs, Total, Total) -> ok;
paced_loop(Group, Payload, T0, IntervalNs, I, Total) ->
    Due = min(Total, (erlang:monotonic_time(nanosecond) - T0) div IntervalNs + 1),
    I1 = send_due(Group, Payload, I, Due),
    I1 < Total andalso sleep_to_next_ms(),
    paced_loop(Group, Payload, T0, IntervalNs, I1, Total).

send_due(_Group, _Payload, I, Due) when I >= Due -> I;
send_due(Group, Payload, I, Due) ->
    Members = pg:get_members(?SCOPE, Group),
    Member = lists:nth(rand:uniform(length(Members)), Members),
    Member ! {os:system_time(nanosecond), Payload},
    send_due(Group, Payload, I + 1, Due).

latency_init(Parent, Scope, Group) ->
    ok = pg:join(Scope, Group, self()),
    Parent ! {joined, self()},
    latency_loop(Parent, []).

latency_loop(Parent, Acc) ->
    receive
        {Stamp, Bin} when is_binary(Bin) ->
            latency_loop(Parent, [os:system_time(nanosecond) - Stamp | Acc]);
        {done, Ref} -> Parent ! {Ref, self(), Acc}
    end.

%%--------------------------------------------------------------------------------------------
%% Join visibility: one at a time, then 10,000 back to back. Seen by pg:monitor_scope on B.

join_visible(BNode) ->
    Ref = make_ref(),
    Watch = spawn_link(BNode, ?MODULE, join_watch_init, [self(), Ref, ?JOINS_ONE_BY_ONE]),
    receive {Ref, watching} -> ok after ?REPLY_TIMEOUT_MS -> error(no_watch) end,
    Procs = [spawn(?MODULE, idle, []) || _ <- lists:seq(1, ?JOINS_ONE_BY_ONE)],
    Stamps = join_one_by_one(Procs, 1, []),
    Arrivals = receive {Ref, seen, Map} -> Map
               after ?REPLY_TIMEOUT_MS -> error(joins_not_seen)
               end,
    unlink(Watch),
    [P ! stop || P <- Procs],
    Sorted = lists:sort([maps:get(I, Arrivals) - Stamp || {I, Stamp} <- Stamps]),
    {percentile_us(Sorted, 0.50), percentile_us(Sorted, 0.99)}.

join_one_by_one([], _I, Acc) -> Acc;
join_one_by_one([P | Rest], I, Acc) ->
    Stamp = os:system_time(nanosecond),
    ok = pg:join(?SCOPE, {join1, I}, P),
    sleep_to_next_ms(),
    join_one_by_one(Rest, I + 1, [{I, Stamp} | Acc]).

%% On B: note when each {join1, I} notification arrives; report once all have.
join_watch_init(Parent, Ref, Expected) ->
    {MRef, _} = pg:monitor_scope(?SCOPE),
    Parent ! {Ref, watching},
    join_watch_loop(Parent, Ref, MRef, Expected, #{}).

join_watch_loop(Parent, Ref, _MRef, Expected, Seen) when map_size(Seen) =:= Expected ->
    Parent ! {Ref, seen, Seen};
join_watch_loop(Parent, Ref, MRef, Expected, Seen) ->
    receive
        {MRef, join, {join1, I}, _Pids} ->
            Now = os:system_time(nanosecond),
            join_watch_loop(Parent, Ref, MRef, Expected, Seen#{I => Now});
        {MRef, _, _, _} ->
            join_watch_loop(Parent, Ref, MRef, Expected, Seen)
    end.

bulk_joins(BNode) ->
    Ref = make_ref(),
    Watch = spawn_link(BNode, ?MODULE, bulk_watch_init, [self(), Ref, ?BULK_JOINS]),
    receive {Ref, watching} -> ok after ?REPLY_TIMEOUT_MS -> error(no_watch) end,
    Procs = [spawn(?MODULE, idle, []) || _ <- lists:seq(1, ?BULK_JOINS)],
    Start = os:system_time(nanosecond),
    bulk_join(Procs, 0),
    Issued = os:system_time(nanosecond),
    LastSeen = receive {Ref, seen_all, At} -> At
               after ?REPLY_TIMEOUT_MS -> error(bulk_joins_not_seen)
               end,
    unlink(Watch),
    [P ! stop || P <- Procs],
    log("  join calls returned after ~.1f ms", [(Issued - Start) / 1.0e6]),
    round1((LastSeen - Start) / 1.0e6).

bulk_join([], _I) -> ok;
bulk_join([P | Rest], I) ->
    ok = pg:join(?SCOPE, {bulk, I rem ?BULK_GROUPS}, P),
    bulk_join(Rest, I + 1).

%% On B: count pids joined to {bulk, _}; report the time at which the last one was seen.
bulk_watch_init(Parent, Ref, Expected) ->
    {MRef, _} = pg:monitor_scope(?SCOPE),
    Parent ! {Ref, watching},
    bulk_watch_loop(Parent, Ref, MRef, Expected, 0).

bulk_watch_loop(Parent, Ref, MRef, Expected, N) ->
    receive
        {MRef, join, {bulk, _}, Pids} ->
            N1 = N + length(Pids),
            case N1 >= Expected of
                true -> Parent ! {Ref, seen_all, os:system_time(nanosecond)};
                false -> bulk_watch_loop(Parent, Ref, MRef, Expected, N1)
            end;
        {MRef, _, _, _} ->
            bulk_watch_loop(Parent, Ref, MRef, Expected, N)
    end.

idle() ->
    receive stop -> ok end.

%%--------------------------------------------------------------------------------------------
%% Helpers.

%% Sleep until the next millisecond of monotonic time. `receive after 1` would wait for
%% the tick after that (about 2 ms): a timer at an absolute time wakes on the next tick.
sleep_to_next_ms() ->
    At = erlang:monotonic_time(millisecond) + 1,
    TRef = erlang:start_timer(At, self(), tick, [{abs, true}]),
    receive {timeout, TRef, tick} -> true end.

%% Nearest-rank percentile of a sorted list of nanoseconds, in microseconds.
percentile_us(Sorted, P) ->
    N = length(Sorted),
    Rank = max(1, min(N, ceil(P * N))),
    round1(lists:nth(Rank, Sorted) / 1000).

round1(X) -> round(X * 10) / 10.

list_to_number(S) ->
    try list_to_integer(S) catch error:badarg -> list_to_float(S) end.

json(Pairs) ->
    Fields = [[$", atom_to_list(K), "\":", json_value(V)] || {K, V} <- Pairs],
    lists:flatten(["{", lists:join(",", Fields), "}"]).

json_value(null) -> "null";
json_value({string, S}) -> [$", S, $"];
json_value(I) when is_integer(I) -> integer_to_list(I);
json_value(F) when is_float(F) -> float_to_list(F, [{decimals, 1}]).

log(Fmt, Args) ->
    io:format(standard_error, "[pg_bench ~s] " ++ Fmt ++ "~n", [node() | Args]).
