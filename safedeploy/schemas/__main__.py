from safedeploy.schemas import write_all

write_all()
