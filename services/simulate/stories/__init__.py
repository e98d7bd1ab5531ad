"""Who does what during a simulated day, each actor's behaviour a story (a generator of
steps, see services.simulate.engine): a request for help (cases), what a volunteer does with
a case they hold (casework), the way out (journey, seats), the people who keep the network
running (staff), and what goes wrong around them (hazards). `cast` starts them all."""
