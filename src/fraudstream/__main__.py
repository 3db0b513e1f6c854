from fraudstream.cli import cli

cli(prog_name="fraudstream")
