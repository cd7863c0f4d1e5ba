"""The conversation eval: realistic caller scenarios run through the real front desk, scored
on what the store holds afterwards and on what the agent said (``voiceagent eval``)."""
