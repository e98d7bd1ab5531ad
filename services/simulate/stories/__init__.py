"""Who does what during a simulated day, each actor's behaviour a story (a generator of
steps, see services.simulate.engine): the cases (cases), the people who work on them
(staff), and what goes wrong around them (hazards). `cast` starts them all."""
