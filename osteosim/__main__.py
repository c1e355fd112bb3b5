from osteosim.cli.run import entry

entry()
