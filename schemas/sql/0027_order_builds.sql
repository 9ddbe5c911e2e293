-- The worker builds custom agent orders (`order.submitted`): it reads the
-- order and writes its status, milestones, build log lines and the agent it
-- provisions.  Row access for hub_worker (0026), per column where it only
-- changes some.
GRANT SELECT ON custom_agent_orders TO hub_worker;
GRANT UPDATE (status, progress, agent_id, error, reviewed_at, started_at, completed_at)
  ON custom_agent_orders TO hub_worker;
GRANT SELECT, INSERT ON order_milestones TO hub_worker;
GRANT UPDATE (progress, completed, completed_at) ON order_milestones TO hub_worker;
GRANT SELECT, INSERT ON build_logs TO hub_worker;
GRANT SELECT, INSERT ON ai_agents TO hub_worker;
-- A rebuild (the platform set the order back to SUBMITTED) re-provisions its agent.
GRANT UPDATE (name, description, personality, model_config, capabilities) ON ai_agents TO hub_worker;
